import type { Logger } from 'pino';
import type { BillingContext } from '../domain/renewal.ts';
import type { PaymentGateway } from '../payments/gateway.ts';
import type { Store } from '../store/connect.ts';
import type { Stores } from '../store/ledger-postings.ts';

/** Everything a job or an operation needs from the outside world, wired once at the entry point. */
export interface Services extends Stores {
  /** The ledger store: invoices, payments, journal, outbox, job records, API keys. */
  store: Store;
  /** Member aggregates and the audit log: the same object as `store` unless the stores are split. */
  memberStore: Store;
  /** Fault-injection hook for member operations, as JobOptions.checkpoint is for jobs (tests only). */
  checkpoint?: (point: string) => void;
  /**
   * The catalog and tax rules billed with. Replaced whole, never changed in place, when another
   * catalog version comes into force (operations/catalog-operations.ts: useCatalog, followCatalog),
   * so whoever took it bills with one catalog version throughout.
   */
  billing: BillingContext;
  gateway: PaymentGateway;
  log: Logger;
  /** Time zone whose calendar days are the revenue business days. */
  reportingTimeZone: string;
  /** Now, in epoch milliseconds (Date.now unless a test clock drives it, as in scenarios): a revenue day closes only once it is over. */
  clock?: () => number;
}

export interface JobOptions {
  /** Members or invoices handled per transaction. */
  chunkSize?: number;
  /** Called after each committed chunk with the number of items done so far. */
  onProgress?: (done: number) => void;
  /**
   * Fault-injection hook: called at every point where a crash must be survivable.
   * Tests throw from it to prove a killed run re-runs to the same end state.
   */
  checkpoint?: (point: string) => void;
}

export interface JobCounts {
  [name: string]: number;
}

export interface JobError {
  item: string;
  message: string;
}

export interface JobResult {
  counts: JobCounts;
  errors: JobError[];
}

/**
 * After a committed chunk: let requests and timers in (the embedded driver is synchronous,
 * so a service stays responsive during a run), then the fault hook, then progress.
 */
export async function chunkCommitted(opts: JobOptions, point: string, done: number): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  opts.checkpoint?.(point);
  opts.onProgress?.(done);
}

/** Close both stores (once, when they are the same). */
export async function closeServices(svc: Services): Promise<void> {
  await svc.store.close();
  if (svc.memberStore !== svc.store) await svc.memberStore.close();
}
