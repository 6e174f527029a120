import { createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, statSync, writeFileSync, type WriteStream } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { DuckDBInstance } from '@duckdb/node-api';
import { InvalidInput } from '../domain/errors.ts';
import { reportFiles, type Difference } from './report-format.ts';

const columns = "{source: 'VARCHAR', country: 'VARCHAR', member: 'VARCHAR', kind: 'VARCHAR', field: 'VARCHAR', source_value: 'VARCHAR', tally_value: 'VARCHAR', rule: 'VARCHAR', detail: 'VARCHAR'}";
const quoted = (path: string) => `'${path.replaceAll("'", "''")}'`;

/**
 * A report being written: differences streamed to report.jsonl as they are found (a country
 * of any size is held a page at a time), then the same rows as report.parquet and the
 * summary beside them.
 */
export class ReportWriter {
  readonly dir: string;
  private readonly out: WriteStream;
  private pending = '';

  constructor(dir: string) {
    this.dir = resolve(dir);
    mkdirSync(this.dir, { recursive: true });
    this.out = createWriteStream(join(this.dir, reportFiles.jsonl));
  }

  async write(rows: Difference[]): Promise<void> {
    for (const r of rows) this.pending += `${JSON.stringify(r)}\n`;
    if (this.pending.length > 1 << 16) await this.flush();
  }

  private async flush(): Promise<void> {
    const text = this.pending;
    this.pending = '';
    if (text && !this.out.write(text)) await new Promise<void>((done) => this.out.once('drain', () => done()));
  }

  /** Close the JSON Lines, write the Parquet copy (through DuckDB) and the summary. */
  async finish(summary: object): Promise<void> {
    await this.flush();
    await new Promise<void>((done, fail) => this.out.end((err?: Error | null) => (err ? fail(err) : done())));
    const duck = await DuckDBInstance.create(':memory:');
    const conn = await duck.connect();
    try {
      const jsonl = join(this.dir, reportFiles.jsonl);
      const rows = statSync(jsonl).size > 0
        ? `select * from read_json(${quoted(jsonl)}, format = 'newline_delimited', columns = ${columns})`
        // An empty report keeps its columns: a clean run's Parquet joins like any other.
        : `select * from (select null::varchar as source, null::varchar as country, null::varchar as member, null::varchar as kind, null::varchar as field,
            null::varchar as source_value, null::varchar as tally_value, null::varchar as rule, null::varchar as detail) where false`;
      await conn.run(`copy (${rows}) to ${quoted(join(this.dir, reportFiles.parquet))} (format parquet)`);
    } finally {
      conn.closeSync();
      duck.closeSync();
    }
    writeFileSync(join(this.dir, reportFiles.summary), `${JSON.stringify(summary, null, 2)}\n`);
  }
}

export interface EarlierReport {
  source: string;
  country: string;
  members: string[];
}

/**
 * The members of an earlier report (`--members-from`): REPORT is its folder, its
 * report.jsonl or its summary.json. Its source and country are the summary's; a report of
 * another country or source is refused by the caller, never silently mixed in.
 */
export async function readEarlierReport(path: string): Promise<EarlierReport> {
  const at = resolve(path);
  if (!existsSync(at)) throw new InvalidInput('--members-from', `${path} does not exist (give a compare report folder or its report.jsonl)`);
  const dir = statSync(at).isDirectory() ? at : resolve(at, '..');
  const summaryFile = join(dir, reportFiles.summary);
  const jsonl = join(dir, reportFiles.jsonl);
  if (!existsSync(summaryFile) || !existsSync(jsonl)) throw new InvalidInput('--members-from', `${path} is not a compare report (no ${reportFiles.summary} and ${reportFiles.jsonl} in ${dir})`);
  let summary: { source?: unknown; country?: unknown };
  try {
    summary = JSON.parse(readFileSync(summaryFile, 'utf8')) as typeof summary;
  } catch {
    throw new InvalidInput('--members-from', `${summaryFile} is not valid JSON`);
  }
  if (typeof summary.source !== 'string' || typeof summary.country !== 'string') throw new InvalidInput('--members-from', `${summaryFile} names no source and country`);
  const members = new Set<string>();
  const lines = createInterface({ input: createReadStream(jsonl), crlfDelay: Infinity });
  let n = 0;
  for await (const line of lines) {
    n++;
    if (!line.trim()) continue;
    let row: Partial<Difference>;
    try {
      row = JSON.parse(line) as Partial<Difference>;
    } catch {
      throw new InvalidInput('--members-from', `${jsonl} line ${n} is not JSON`);
    }
    if (row.country !== undefined && row.country !== summary.country) throw new InvalidInput('--members-from', `${jsonl} line ${n} is of country ${row.country}, the report of ${summary.country}`);
    if (typeof row.member === 'string') members.add(row.member);
  }
  return { source: summary.source, country: summary.country, members: [...members].sort() };
}

/** The folder a run writes to when no --out is given: var/compare/XX-<time>. */
export function defaultReportDir(country: string, at = new Date()): string {
  return join('var', 'compare', `${country}-${at.toISOString().replace(/[:.]/g, '-')}`);
}
