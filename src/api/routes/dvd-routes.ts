import type { Static } from '@sinclair/typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { InvalidInput, NotFound } from '../../domain/errors.ts';
import * as ops from '../../operations/member-operations.ts';
import { memberInvoices } from '../../store/ledger.ts';
import { loadMember } from '../../store/members.ts';
import type { ApiContext } from '../context.ts';
import { errors, MemberParams, PlanBody } from '../schemas.ts';
import { invoiceView, memberView } from '../views.ts';
import { memberToday } from './member-routes.ts';

type Params = Static<typeof MemberParams>;
const tags = ['dvd partner'];
const roles = ['dvd-partner'] as const;

/** The DVD business's calls, served only on the mutual-TLS listener. */
export function dvdRoutes(app: FastifyInstance, api: ApiContext): void {
  const { svc } = api;
  const member = { 200: Type.Ref('Member'), ...errors(400, 401, 403, 404, 409, 422, 429) };

  app.post('/v1/dvd/members/:id/dvd-plan', { config: { roles }, schema: { tags, summary: 'Add a DVD plan to a member', params: MemberParams, body: PlanBody, response: member } }, async (req) => {
    const { id } = req.params as Params;
    const { plan } = req.body as Static<typeof PlanBody>;
    if (svc.billing.catalog.plan(plan).product !== 'dvd') throw new InvalidInput('plan', `"${plan}" is not a DVD plan`, plan);
    const m = await loadMember(svc.memberStore.db, id);
    if (!m) throw new NotFound('id', `unknown member "${id}"`);
    const on = await memberToday(api, id);
    const updated = await ops.signupMember(svc, { id, country: m.country, region: m.region, timezone: m.timezone, paymentToken: m.paymentToken, plan }, on);
    return memberView(updated);
  });

  app.post('/v1/dvd/members/:id/dvd-plan/cancellation', { config: { roles }, schema: { tags, summary: 'Remove the DVD plan at the end of its period', params: MemberParams, response: member } }, async (req) => {
    const { id } = req.params as Params;
    return memberView(await ops.cancelMembership(svc, id, await memberToday(api, id), 'dvd'));
  });

  app.get('/v1/dvd/members/:id/billing', {
    config: { roles },
    schema: { tags, summary: 'The member\'s DVD subscription and its invoices', params: MemberParams, response: { 200: Type.Object({ member: Type.Ref('Member'), invoices: Type.Array(Type.Ref('Invoice')) }), ...errors(400, 401, 403, 404, 429) } },
  }, async (req) => {
    const { id } = req.params as Params;
    const m = await loadMember(svc.memberStore.db, id);
    if (!m) throw new NotFound('id', `unknown member "${id}"`);
    const dvdSubs = new Set(m.subscriptions.filter((s) => s.product === 'dvd').map((s) => s.id));
    const invoices = (await memberInvoices(svc.store.db, id)).filter((i) => dvdSubs.has(i.subscriptionId));
    return { member: memberView(m), invoices: invoices.map(invoiceView) };
  });
}
