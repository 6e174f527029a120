import type { Kysely } from 'kysely';
import { insertNew } from '../store/bulk.ts';
import type { ProcessorChargeRow, Schema } from '../store/schema.ts';
import type { ChargeRequest, GatewayOutcome, PaymentGateway, RefundRequest } from './gateway.ts';

/** What each test token does, so every scenario is reproducible. */
export const testTokens = ['tok_ok', 'tok_soft_decline', 'tok_hard_decline', 'tok_timeout'] as const;

function decide(token: string): { status: 'approved' | 'declined'; code: string | null; hard: boolean } {
  switch (token) {
    case 'tok_ok':
    case 'tok_timeout':
      return { status: 'approved', code: null, hard: false };
    case 'tok_soft_decline':
      return { status: 'declined', code: 'insufficient_funds', hard: false };
    default:
      return { status: 'declined', code: token === 'tok_hard_decline' ? 'do_not_honor' : 'invalid_token', hard: true };
  }
}

function toOutcome(row: Pick<ProcessorChargeRow, 'status' | 'code' | 'reference'>): GatewayOutcome {
  return row.status === 'approved'
    ? { status: 'approved', reference: row.reference }
    : { status: 'declined', code: row.code ?? 'declined', hard: row.code !== 'insufficient_funds', reference: row.reference };
}

/**
 * A deterministic card processor driven by the payment token. Its records live
 * in their own table and are committed as soon as a call returns, as an
 * external processor's would be, independent of the caller's transaction.
 * `tok_timeout` loses the answer to the first call for each key although the
 * charge went through.
 */
export function simulatedProcessor(db: Kysely<Schema>): PaymentGateway {
  async function existing(keys: string[]): Promise<Map<string, ProcessorChargeRow>> {
    const out = new Map<string, ProcessorChargeRow>();
    for (let i = 0; i < keys.length; i += 5000) {
      const rows = await db.selectFrom('processor_charges').selectAll().where('idem_key', 'in', keys.slice(i, i + 5000)).execute();
      for (const r of rows) out.set(r.idem_key, r);
    }
    return out;
  }

  return {
    knowsToken: (token) => (testTokens as readonly string[]).includes(token),

    async charge(requests: ChargeRequest[]) {
      if (!requests.length) return [];
      const seen = await existing(requests.map((r) => r.key));
      const fresh: ProcessorChargeRow[] = [];
      const outcomes = requests.map((r): GatewayOutcome => {
        const prior = seen.get(r.key);
        // Same key again: the original result, and no money moves.
        if (prior) return toOutcome(prior);
        const d = decide(r.token);
        const row: ProcessorChargeRow = {
          idem_key: r.key, kind: 'charge', token: r.token, amount: r.amount, currency: r.currency,
          status: d.status, code: d.code, reference: `ch_${r.key}`, calls: 1,
        };
        fresh.push(row);
        seen.set(r.key, row);
        return r.token === 'tok_timeout' ? { status: 'unknown' } : toOutcome(row);
      });
      await insertNew(db, 'processor_charges', fresh);
      return outcomes;
    },

    async lookup(keys: string[]) {
      const seen = await existing(keys);
      return keys.map((k) => {
        const row = seen.get(k);
        return row ? toOutcome(row) : null;
      });
    },

    async refund(request: RefundRequest) {
      const seen = await existing([request.key]);
      const prior = seen.get(request.key);
      if (prior) return toOutcome(prior);
      const row: ProcessorChargeRow = {
        idem_key: request.key, kind: 'refund', token: request.chargeReference, amount: request.amount,
        currency: request.currency, status: 'approved', code: null, reference: `re_${request.key}`, calls: 1,
      };
      await insertNew(db, 'processor_charges', [row]);
      return toOutcome(row);
    },
  };
}
