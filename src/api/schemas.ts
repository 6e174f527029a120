import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { MAX_MINOR_UNITS } from '../domain/money.ts';

// One set of schemas validates requests, shapes responses and generates the OpenAPI document.

export const IsoDate = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'calendar date YYYY-MM-DD' });
export const MinorUnits = Type.Integer({ minimum: 0, maximum: MAX_MINOR_UNITS, description: 'integer amount in the currency\'s minor units, at most 10^12' });
export const PositiveMinorUnits = Type.Integer({ minimum: 1, maximum: MAX_MINOR_UNITS, description: 'integer amount in the currency\'s minor units, at most 10^12' });
export const Currency = Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217 code' });
export const Money = Type.Object({ amount: Type.Integer(), currency: Currency }, { additionalProperties: false, $id: 'Money' });
const MoneyRef = Type.Ref('Money');
export const MemberId = Type.String({ pattern: '^[A-Za-z0-9_.:-]{1,64}$' });
export const Product = Type.Union([Type.Literal('streaming'), Type.Literal('dvd')]);
export const Status = Type.Union(['trial', 'active', 'past_due', 'on_hold', 'cancelled'].map((s) => Type.Literal(s)));
const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

export const Problem = Type.Object({
  type: Type.String(), title: Type.String(), status: Type.Integer(), detail: Type.String(),
  field: Type.Optional(Type.String()), instance: Type.Optional(Type.String()),
}, { $id: 'Problem' });

export const SubscriptionView = Type.Object({
  id: Type.String(), product: Product, plan: Type.String(), status: Status,
  periodStart: Nullable(IsoDate), periodEnd: Nullable(IsoDate), nextBillingDate: IsoDate,
  cancelAtPeriodEnd: Type.Boolean(), pendingPlan: Nullable(Type.String()),
});

export const MemberView = Type.Object({
  id: MemberId, email: Nullable(Type.String()), country: Type.String(), region: Nullable(Type.String()), timezone: Type.String(),
  currency: Currency, status: Status, plan: Nullable(Type.String()), nextBillingDate: Nullable(IsoDate),
  giftCardBalance: MoneyRef, creditBalance: MoneyRef, subscriptions: Type.Array(SubscriptionView),
}, { $id: 'Member' });

export const InvoiceLineView = Type.Object({
  line: Type.Integer(), kind: Type.String(), description: Type.String(), plan: Type.String(), periodStart: IsoDate, periodEnd: IsoDate,
  amount: MoneyRef, discount: MoneyRef, net: MoneyRef, tax: MoneyRef, total: MoneyRef, taxRatePpm: Type.Integer(), taxName: Type.String(),
});

export const InvoiceView = Type.Object({
  id: Type.String(), member: MemberId, number: Type.Integer(), subscription: Type.String(), kind: Type.String(), status: Type.String(),
  periodStart: IsoDate, periodEnd: IsoDate, issuedOn: IsoDate, subtotal: MoneyRef, discount: MoneyRef, tax: MoneyRef, total: MoneyRef,
  balanceApplied: MoneyRef, charged: MoneyRef, refunded: MoneyRef, nextAttemptOn: Nullable(IsoDate),
  catalogVersion: Type.Optional(Nullable(Type.Integer({ minimum: 0, description: 'the catalog version the invoice was billed with (GET /v1/admin/catalog?version=N); 0 the built-in catalog, null unknown (issued before catalog versions, or migrated)' }))),
  lines: Type.Array(InvoiceLineView),
}, { $id: 'Invoice' });

export const InvoicePage = Type.Object({ invoices: Type.Array(Type.Ref('Invoice')), nextCursor: Nullable(Type.String()) });

const strict = { additionalProperties: false } as const;
export const SignupBody = Type.Object({
  id: MemberId, email: Type.Optional(Type.String({ format: 'email', maxLength: 254 })), country: Type.String({ pattern: '^[A-Z]{2}$' }),
  region: Type.Optional(Nullable(Type.String({ pattern: '^[A-Z0-9]{1,3}$' }))), timezone: Type.String({ minLength: 1, maxLength: 64 }),
  paymentToken: Type.String({ minLength: 1, maxLength: 64 }), plan: Type.String({ minLength: 1, maxLength: 64 }),
}, strict);
export const PlanBody = Type.Object({ plan: Type.String({ minLength: 1, maxLength: 64 }) }, strict);
export const ProductBody = Type.Object({ product: Type.Optional(Product) }, strict);
export const PaymentMethodBody = Type.Object({ paymentToken: Type.String({ minLength: 1, maxLength: 64 }) }, strict);
export const GiftCardBody = Type.Object({ code: Type.String({ pattern: '^[A-Za-z0-9-]{4,64}$' }), amount: PositiveMinorUnits, currency: Currency }, strict);
export const Reason = Type.String({ minLength: 3, maxLength: 500 });
export const CreditBody = Type.Object({ amount: PositiveMinorUnits, currency: Currency, reason: Reason }, strict);
export const RefundBody = Type.Object({ invoice: Type.Integer({ minimum: 1, maximum: 1_000_000 }), amount: PositiveMinorUnits, currency: Currency, reason: Reason }, strict);

export const MemberParams = Type.Object({ id: MemberId }, strict);
export const PageQuery = Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })), cursor: Type.Optional(Type.String({ pattern: '^[0-9]{1,7}$' })) }, strict);

export type SignupBody = Static<typeof SignupBody>;

export const sharedSchemas = [Money, Problem, MemberView, InvoiceView];

/** Standard error responses every route can give, so the OpenAPI document says so. */
export function errors(...codes: number[]) {
  return Object.fromEntries(codes.map((c) => [c, Type.Ref('Problem')]));
}
