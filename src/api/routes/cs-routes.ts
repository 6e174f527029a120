import { randomUUID } from 'node:crypto';
import type { Static } from '@sinclair/typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { localDate } from '../../domain/calendar.ts';
import { InvalidInput, NotFound } from '../../domain/errors.ts';
import { assertSameCurrency, type Member } from '../../domain/member.ts';
import * as ops from '../../operations/member-operations.ts';
import { invoiceByNumber } from '../../store/ledger.ts';
import { loadMember } from '../../store/members.ts';
import { requestScopedId } from '../idempotency.ts';
import type { ApiContext } from '../context.ts';
import { CreditBody, errors, MemberParams, RefundBody } from '../schemas.ts';
import { memberRecord } from '../member-record.ts';
import { memberView } from '../views.ts';

type Params = Static<typeof MemberParams>;
const tags = ['customer service'];
const roles = ['cs-agent'] as const;
const Anything = Type.Any();

const MemberRecordQuery = Type.Object({
  include: Type.Optional(Type.Literal('archive', { description: 'archive: also the history moved to the archive' })),
}, { additionalProperties: false });
/** Present only with include=archive: where the item was read. */
const SourceMark = Type.Object({ source: Type.Optional(Type.Union([Type.Literal('hot'), Type.Literal('archive')])) });

const SearchQuery = Type.Object({
  member: Type.Optional(Type.String({ maxLength: 64 })),
  email: Type.Optional(Type.String({ maxLength: 254 })),
  invoice: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_.:-]{1,64}#[0-9]{1,7}$', description: 'invoice id: member id # number' })),
}, { additionalProperties: false });

export function csRoutes(app: FastifyInstance, api: ApiContext): void {
  const { db } = api.svc.store;
  const members = api.svc.memberStore.db;

  app.get('/v1/cs/members/:id', {
    config: { roles },
    schema: {
      tags, summary: 'Everything about a member\'s billing in one call',
      description: 'With include=archive, each list is the member\'s whole history, hot and archived, every item marked with its source (hot or archive).',
      params: MemberParams, querystring: MemberRecordQuery,
      response: {
        200: Type.Object({
          member: Type.Ref('Member'), invoices: Type.Array(Type.Intersect([Type.Ref('Invoice'), SourceMark])), attempts: Type.Array(Anything), payments: Type.Array(Anything),
          refunds: Type.Array(Anything), chargebacks: Type.Array(Anything), credits: Type.Array(Anything), giftCards: Type.Array(Anything), audit: Type.Array(Anything),
        }),
        ...errors(400, 401, 403, 404, 429),
      },
    },
  }, async (req) => {
    const { id } = req.params as Params;
    const { include } = req.query as Static<typeof MemberRecordQuery>;
    const record = await memberRecord(api.svc, id, { archive: include === 'archive' });
    if (!record) throw new NotFound('id', `unknown member "${id}"`);
    return record;
  });

  app.get('/v1/cs/search', {
    config: { roles },
    schema: { tags, summary: 'Find members by id, email or invoice', querystring: SearchQuery, response: { 200: Type.Object({ members: Type.Array(Type.Ref('Member')) }), ...errors(400, 401, 403, 429) } },
  }, async (req) => {
    const q = req.query as Static<typeof SearchQuery>;
    let ids: string[];
    if (q.member) ids = [q.member];
    else if (q.email) ids = (await members.selectFrom('members').select('id').where('email', '=', q.email).limit(50).execute()).map((r) => r.id);
    else if (q.invoice) ids = (await db.selectFrom('invoices').select('member_id').where('id', '=', q.invoice).execute()).map((r) => r.member_id);
    else throw new InvalidInput('query', 'give member, email or invoice');
    const found = await Promise.all(ids.map((id) => loadMember(members, id)));
    return { members: found.filter((m): m is Member => m !== undefined).map(memberView) };
  });

  /** Every agent action is audited, in the operation's own transaction, with the member before and after and the agent's reason. */
  const by = (req: { apiKey?: { name: string; id: string } }, action: string, reason: string, request: unknown): ops.AuditedBy => ({
    actor: `${req.apiKey!.name} (${req.apiKey!.id})`, action, reason, request, view: memberView,
  });
  const current = async (id: string) => {
    const m = await loadMember(members, id);
    if (!m) throw new NotFound('id', `unknown member "${id}"`);
    return { member: m, on: localDate(api.now(), m.timezone) };
  };

  app.post('/v1/cs/members/:id/credits', {
    config: { roles },
    schema: { tags, summary: 'Grant a service credit (reason required, audited)', params: MemberParams, body: CreditBody, response: { 200: Type.Ref('Member'), ...errors(400, 401, 403, 404, 409, 422, 429) } },
  }, async (req) => {
    const { id } = req.params as Params;
    const b = req.body as Static<typeof CreditBody>;
    const { member, on } = await current(id);
    assertSameCurrency(member, b.currency);
    // Named after the Idempotency-Key when there is one: a retry of a request whose answer was lost finds the credit granted.
    const creditId = `credit-${requestScopedId(req) ?? randomUUID()}`;
    return memberView(await ops.grantCredit(api.svc, id, creditId, b.amount, b.reason, on, by(req, 'credit.granted', b.reason, b)));
  });

  app.post('/v1/cs/members/:id/refunds', {
    config: { roles },
    schema: {
      tags, summary: 'Refund all or part of a paid invoice (reason required, audited)',
      description: 'The refund is recorded before the gateway is called. 503 (with Retry-After): the gateway did not answer; the refund stays recorded and is settled by the next collection run or by a retry with the same Idempotency-Key.',
      params: MemberParams, body: RefundBody, response: { 200: Type.Ref('Member'), ...errors(400, 401, 403, 404, 409, 422, 429, 503) },
    },
  }, async (req) => {
    const { id } = req.params as Params;
    const b = req.body as Static<typeof RefundBody>;
    const { on } = await current(id);
    const invoice = await invoiceByNumber(db, id, b.invoice);
    if (invoice && invoice.currency !== b.currency) throw new InvalidInput('currency', `invoice ${b.invoice} is in ${invoice.currency}, not ${b.currency}`, b.currency);
    return memberView(await ops.refundMemberInvoice(api.svc, id, b.invoice, b.amount, b.reason, on, by(req, 'invoice.refunded', b.reason, b), requestScopedId(req)));
  });
}
