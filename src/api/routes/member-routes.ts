import type { Static } from '@sinclair/typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { localDate } from '../../domain/calendar.ts';
import { InvalidInput, NotFound } from '../../domain/errors.ts';
import type { Member } from '../../domain/member.ts';
import * as ops from '../../operations/member-operations.ts';
import { billingHistoryPage } from '../../store/billing-history.ts';
import { loadMember } from '../../store/members.ts';
import type { ApiContext } from '../context.ts';
import {
  errors, GiftCardBody, MemberParams, PageQuery, PaymentMethodBody, PlanBody, ProductBody, SignupBody,
} from '../schemas.ts';
import { memberView } from '../views.ts';

type Params = Static<typeof MemberParams>;
const member = { 200: Type.Ref('Member'), ...errors(400, 401, 403, 404, 409, 422, 429) };
const tags = ['member'];
const roles = ['member-app'] as const;

/** The member's own calendar date now: billing anniversaries live in the member's time zone. */
export async function memberToday(api: ApiContext, id: string): Promise<string> {
  const m = await loadMember(api.svc.memberStore.db, id);
  if (!m) throw new NotFound('id', `unknown member "${id}"`, id);
  return localDate(api.now(), m.timezone);
}

export function memberRoutes(app: FastifyInstance, api: ApiContext): void {
  const { svc } = api;
  app.get('/v1/members/:id', { config: { roles }, schema: { tags, summary: 'A member\'s subscriptions and status', params: MemberParams, response: member } }, async (req) => {
    const m = await loadMember(svc.memberStore.db, (req.params as Params).id);
    if (!m) throw new NotFound('id', `unknown member "${(req.params as Params).id}"`);
    return memberView(m);
  });

  app.get('/v1/members/:id/invoices', {
    config: { roles },
    schema: { tags, summary: 'Billing history, newest first', params: MemberParams, querystring: PageQuery, response: { 200: Type.Ref('InvoicePage'), ...errors(400, 401, 403, 404, 429) } },
  }, async (req, reply) => {
    const { id } = req.params as Params;
    const q = req.query as Static<typeof PageQuery>;
    const page = await billingHistoryPage(svc.store, id, q.cursor ? Number(q.cursor) : null, q.limit ?? 20);
    // Only an empty page needs to tell an unknown member from one without invoices: the hot path reads once.
    if (!page.invoices.length && !(await svc.memberStore.db.selectFrom('members').select('id').where('id', '=', id).executeTakeFirst())) {
      throw new NotFound('id', `unknown member "${id}"`);
    }
    // The invoices are stored as the JSON this route serves (the InvoicePage schema); joining them is the serialization.
    return reply.type('application/json').send(`{"invoices":[${page.invoices.join(',')}],"nextCursor":${JSON.stringify(page.nextCursor)}}`);
  });

  app.post('/v1/members', { config: { roles }, schema: { tags, summary: 'Sign up (creates the member on first sign-up)', body: SignupBody, response: { 201: Type.Ref('Member'), ...errors(400, 401, 403, 409, 422, 429) } } }, async (req, reply) => {
    const b = req.body as Static<typeof SignupBody>;
    notDvd(b.plan);
    const on = localDate(api.now(), b.timezone);
    const m = await ops.signupMember(svc, { id: b.id, email: b.email ?? null, country: b.country, region: b.region ?? null, timezone: b.timezone, paymentToken: b.paymentToken, plan: b.plan }, on);
    return reply.code(201).send(memberView(m));
  });

  // DVD rental is sold and changed by the DVD partner over its own mutual-TLS API, never by the member app.
  const notDvd = (plan: string) => {
    if (svc.billing.catalog.catalog.plans.some((p) => p.id === plan && p.product === 'dvd')) {
      throw new InvalidInput('plan', `"${plan}" is a DVD plan: DVD plans are added through the DVD partner API`, plan);
    }
    return plan;
  };
  const action = <B>(path: string, summary: string, body: object, run: (id: string, b: B, on: string) => Promise<Member>) => {
    app.post(`/v1/members/:id/${path}`, { config: { roles }, schema: { tags, summary, params: MemberParams, body, response: member } }, async (req) => {
      const { id } = req.params as Params;
      // Each operation returns the member as it committed it: no second read for the response.
      return memberView(await run(id, req.body as B, await memberToday(api, id)));
    });
  };
  action<Static<typeof PlanBody>>('plan-change', 'Change plan: upgrades now with proration, downgrades at the next period', PlanBody, (id, b, on) => ops.changeMemberPlan(svc, id, notDvd(b.plan), on));
  action<Static<typeof ProductBody>>('cancellation', 'Cancel at the end of the current period', ProductBody, (id, b, on) => ops.cancelMembership(svc, id, on, b.product));
  action<Static<typeof ProductBody>>('reactivation', 'Undo a pending cancellation', ProductBody, (id, b, on) => ops.reactivateMembership(svc, id, on, b.product));
  action<Static<typeof PaymentMethodBody>>('payment-method', 'Replace the payment method (a token, never a card number); retries what is owed', PaymentMethodBody, (id, b, on) => ops.updatePaymentMethod(svc, id, b.paymentToken, on));
  action<Static<typeof GiftCardBody>>('gift-cards', 'Redeem a gift card into the member\'s balance', GiftCardBody, (id, b, on) => ops.redeemGiftCard(svc, id, b.code, b.amount, b.currency, on));
}
