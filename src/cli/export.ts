import { closeServices } from '../jobs/services.ts';
import { exportCountry } from '../troubleshoot/country-export.ts';
import { queryExport, queryFormats, type QueryFormat, type QueryOutput } from '../troubleshoot/query.ts';
import { configFromEnv, logger, openServices } from '../wiring.ts';
import { jobProgress } from './progress.ts';

const text = (values: Record<string, unknown>, name: string) => (typeof values[name] === 'string' ? (values[name] as string) : undefined);

/** `tally export --country XX --to DIR [--from URL] [--page-size N]`: one JSON line with each file's rows; notes on stderr. */
export async function exportCommand(rest: string[], values: Record<string, unknown>, usageError: (message: string) => Error): Promise<number> {
  const usageLine = 'usage: tally export --country XX --to DIR [--from URL] [--page-size N]';
  if (rest.length) throw usageError(`export takes no arguments, got "${rest[0]}"; ${usageLine}`);
  const given = text(values, 'country');
  const country = (given ?? '').trim().toUpperCase();
  if (!/^[A-Z]{2}$/.test(country)) throw usageError(given ? `--country takes one ISO 3166 alpha-2 code, got "${given}"` : `--country is required; ${usageLine}`);
  const to = text(values, 'to');
  if (!to) throw usageError(`--to is required; ${usageLine}`);
  const pageText = text(values, 'page-size');
  const pageSize = pageText === undefined ? undefined : Number(pageText);
  if (pageSize !== undefined && !(Number.isInteger(pageSize) && pageSize > 0 && pageSize <= 10_000)) throw usageError(`--page-size must be a whole number from 1 to 10000, got "${pageText}"`);
  const config = configFromEnv();
  const log = logger(config.logLevel);
  const svc = await openServices(config, { log });
  try {
    let progress: ReturnType<typeof jobProgress> | undefined;
    // Notes wait for the progress bar to finish: written under it, they would be drawn over.
    const notes: string[] = [];
    const result = await exportCountry(svc, { country, to, from: text(values, 'from'), pageSize }, {
      onProgress: (done, total) => {
        progress ??= jobProgress(log, 'export', country, total);
        progress.tick(done);
      },
      note: (line) => notes.push(line),
    }).finally(() => progress?.stop());
    for (const line of notes) process.stderr.write(`${line}\n`);
    console.log(JSON.stringify({ country: result.country, to: result.to, compareRun: result.compareRun, files: Object.fromEntries(result.files.map((f) => [f.file, f.rows])), seconds: result.seconds }));
    return 0;
  } finally {
    await closeServices(svc);
  }
}

/** --format and --limit of a query over Parquet (`tally query`, `tally archive query`). */
export function queryOptions(values: Record<string, unknown>, usageError: (message: string) => Error): { format: QueryFormat; limit?: number } {
  const format = (text(values, 'format') ?? (values.json === true ? 'json' : 'table')) as QueryFormat;
  if (!queryFormats.includes(format)) throw usageError(`--format must be ${queryFormats.join(', ')}, got "${format}"`);
  const limitText = text(values, 'limit');
  const limit = limitText === undefined ? undefined : Number(limitText);
  if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) throw usageError(`--limit must be a positive whole number, got "${limitText}"`);
  return { format, limit };
}

/** A query's rows to stdout, waiting on the pipe; notes to stderr. */
export const stdoutQueryOutput: QueryOutput = {
  write: (chunk) => new Promise((resolve, reject) => {
    process.stdout.write(chunk, (err) => (err ? reject(err) : resolve()));
  }),
  note: (line) => process.stderr.write(`${line}\n`),
};

/** `tally query DIR "SQL" [--format table|csv|json] [--limit N]`: the result on stdout, notes on stderr. */
export async function queryCommand(rest: string[], values: Record<string, unknown>, usageError: (message: string) => Error): Promise<number> {
  const usageLine = 'usage: tally query DIR "SQL" [--format table|csv|json] [--limit N]';
  const [dir, sqlText, extra] = rest;
  if (!dir || !sqlText?.trim()) throw usageError(`query needs a folder and an SQL statement; ${usageLine}`);
  if (extra !== undefined) throw usageError(`query takes one SQL argument (quote it), got also "${extra}"; ${usageLine}`);
  await queryExport(dir, sqlText, queryOptions(values, usageError), stdoutQueryOutput);
  return 0;
}
