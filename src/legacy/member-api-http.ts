import { Type } from '@sinclair/typebox';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';

/**
 * The member API's contract as the member app knows it — request schemas, problem+json
 * errors naming the field — declared again on this side: the legacy shares no code with the
 * new platform, only the contract, so a routing proxy can send a member's calls to either.
 */
export const MemberId = Type.String({ pattern: '^[A-Za-z0-9_.:-]{1,64}$' });
const Product = Type.Union([Type.Literal('streaming'), Type.Literal('dvd')]);
const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);
const strict = { additionalProperties: false } as const;
/** The bound on any amount in minor units (10^12), as the member API states it. */
export const maxMinorUnits = 1_000_000_000_000;

export const MemberParams = Type.Object({ id: MemberId }, strict);
export const PageQuery = Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })), cursor: Type.Optional(Type.String({ pattern: '^[0-9]{1,7}$' })) }, strict);
export const SignupBody = Type.Object({
  id: MemberId, email: Type.Optional(Type.String({ format: 'email', maxLength: 254 })), country: Type.String({ pattern: '^[A-Z]{2}$' }),
  region: Type.Optional(Nullable(Type.String({ pattern: '^[A-Z0-9]{1,3}$' }))), timezone: Type.String({ minLength: 1, maxLength: 64 }),
  paymentToken: Type.String({ minLength: 1, maxLength: 64 }), plan: Type.String({ minLength: 1, maxLength: 64 }),
}, strict);
export const PlanBody = Type.Object({ plan: Type.String({ minLength: 1, maxLength: 64 }) }, strict);
export const ProductBody = Type.Object({ product: Type.Optional(Product) }, strict);
export const PaymentMethodBody = Type.Object({ paymentToken: Type.String({ minLength: 1, maxLength: 64 }) }, strict);
export const GiftCardBody = Type.Object({
  code: Type.String({ pattern: '^[A-Za-z0-9-]{4,64}$' }), amount: Type.Integer({ minimum: 1, maximum: maxMinorUnits }), currency: Type.String({ pattern: '^[A-Z]{3}$' }),
}, strict);

export interface SignupInput { id: string; email?: string; country: string; region?: string | null; timezone: string; paymentToken: string; plan: string }

/** A request refused: the status, the field at fault and why (404 unknown, 422 not possible, 409 busy); the detail leads with the field, as the member app reads it. */
export class Refusal extends Error {
  override name = 'Refusal';
  constructor(readonly status: number, readonly field: string, detail: string) {
    super(status === 404 || status === 422 ? `${field}: ${detail}` : detail);
  }
}

const titles: Record<number, string> = {
  400: 'Bad request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not found', 405: 'Method not allowed', 408: 'Request timeout',
  409: 'Conflict', 413: 'Payload too large', 415: 'Unsupported media type', 422: 'Unprocessable content', 429: 'Too many requests',
  431: 'Request header fields too large', 500: 'Internal error', 503: 'Service unavailable',
};

/** RFC 9457 problem details, `field` naming the offending input. */
export function sendProblem(reply: FastifyReply, status: number, detail: string, field?: string): FastifyReply {
  const body = { type: 'about:blank', title: titles[status] ?? 'Error', status, detail, ...(field ? { field } : {}), instance: reply.request.url };
  return reply.code(status).type('application/problem+json').send(body);
}

interface ValidationIssue { instancePath: string; keyword: string; params: Record<string, unknown>; message?: string }

/** `/amount` + missing `currency` → `body.currency`: the client sees which field to fix. */
function fieldOf(context: string | undefined, issue: ValidationIssue): string {
  const path = issue.instancePath.split('/').filter(Boolean);
  if (issue.keyword === 'required') path.push(String(issue.params.missingProperty));
  if (issue.keyword === 'additionalProperties') path.push(String(issue.params.additionalProperty));
  return [context ?? 'body', ...path].join('.');
}

export function errorHandler(error: FastifyError & { validationContext?: string; validation?: ValidationIssue[] }, request: FastifyRequest, reply: FastifyReply) {
  if (error.validation?.length) {
    const issue = error.validation[0]!;
    const field = fieldOf(error.validationContext, issue);
    return sendProblem(reply, 400, `${field} ${issue.keyword === 'additionalProperties' ? 'is not a known field' : issue.message ?? 'is invalid'}`, field);
  }
  if (error instanceof Refusal) return sendProblem(reply, error.status, error.message, error.field);
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return sendProblem(reply, 400, 'the body is not valid JSON', 'body');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return sendProblem(reply, 413, 'the body is too large', 'body');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return sendProblem(reply, 415, 'send application/json', 'content-type');
  }
  if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) return sendProblem(reply, error.statusCode, error.message);
  request.log.error({ err: error }, 'request failed');
  return sendProblem(reply, 500, 'the request could not be completed; it is safe to retry with the same Idempotency-Key');
}
