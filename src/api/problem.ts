import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { InvalidInput, NotFound } from '../domain/errors.ts';
import { GatewayUnavailable } from '../payments/gateway.ts';

/** RFC 9457 problem details; `field` names the offending input, as the product promises for every 4xx. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  field?: string;
  instance?: string;
}

export class HttpProblem extends Error {
  readonly status: number;
  readonly field: string | undefined;
  constructor(status: number, detail: string, field?: string) {
    super(detail);
    this.status = status;
    this.field = field;
  }
}

const titles: Record<number, string> = {
  400: 'Bad request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not found', 405: 'Method not allowed', 408: 'Request timeout',
  409: 'Conflict', 413: 'Payload too large', 415: 'Unsupported media type', 422: 'Unprocessable content', 429: 'Too many requests',
  431: 'Request header fields too large', 500: 'Internal error', 502: 'Bad gateway', 503: 'Service unavailable', 504: 'Gateway timeout',
};

/**
 * A whole HTTP/1.1 problem+json response as text, for a request the HTTP parser refused
 * before the framework saw it (only the raw socket is left to answer on); the connection closes.
 */
export function rawProblemResponse(status: number, detail: string, field: string): string {
  const title = titles[status] ?? 'Error';
  const body = JSON.stringify({ type: 'about:blank', title, status, detail, field });
  return `HTTP/1.1 ${status} ${title}\r\ncontent-type: application/problem+json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`;
}

export function sendProblem(reply: FastifyReply, status: number, detail: string, field?: string): FastifyReply {
  const body: Problem = { type: 'about:blank', title: titles[status] ?? 'Error', status, detail, ...(field ? { field } : {}), instance: reply.request.url };
  return reply.code(status).type('application/problem+json').send(body);
}

interface ValidationIssue {
  instancePath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
}

/** `/amount` + missing `currency` → `body.currency`; the client sees which field to fix. */
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
    const detail = issue.keyword === 'additionalProperties' ? 'is not a known field' : issue.message ?? 'is invalid';
    return sendProblem(reply, 400, `${field} ${detail}`, field);
  }
  if (error instanceof HttpProblem) return sendProblem(reply, error.status, error.message, error.field);
  if (error instanceof NotFound) return sendProblem(reply, 404, error.message, error.field);
  if (error instanceof InvalidInput) return sendProblem(reply, 422, error.message, error.field);
  if (error instanceof GatewayUnavailable) return sendProblem(reply.header('retry-after', 30), 503, error.message);
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return sendProblem(reply, 400, 'the body is not valid JSON', 'body');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return sendProblem(reply, 413, 'the body is too large', 'body');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return sendProblem(reply, 415, 'send application/json', 'content-type');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return sendProblem(reply, 400, 'the content-length does not match the body', 'content-length');
  }
  if (error.statusCode === 429) return sendProblem(reply, 429, error.message);
  if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) return sendProblem(reply, error.statusCode, error.message);
  request.log.error({ err: error }, 'request failed');
  return sendProblem(reply, 500, 'the request could not be completed; it is safe to retry with the same Idempotency-Key');
}
