import { SingleBar, Presets } from 'cli-progress';
import type { Logger } from 'pino';

/**
 * Progress for a long job: a bar on a terminal, a structured log line every
 * few seconds otherwise (CI, cron, containers).
 */
export function jobProgress(log: Logger, job: string, date: string, total?: number): { tick: (done: number) => void; stop: () => void } {
  if (process.stderr.isTTY) {
    const bar = new SingleBar({ format: `${job} ${date} [{bar}] {value}${total ? '/{total}' : ''} {duration_formatted}`, stream: process.stderr, hideCursor: true }, Presets.shades_classic);
    bar.start(total ?? 0, 0);
    return { tick: (done) => { if (!total) bar.setTotal(done); bar.update(done); }, stop: () => bar.stop() };
  }
  let last = 0;
  return {
    tick: (done) => {
      const now = Date.now();
      if (now - last < 2000) return;
      last = now;
      log.info({ job, date, done, total }, 'progress');
    },
    stop: () => undefined,
  };
}
