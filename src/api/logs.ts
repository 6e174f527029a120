import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';
import { pino, type DestinationStream, type Logger } from 'pino';

/**
 * The service's logs, JSON lines on one destination: `log` for what happens inside
 * a request (errors, warnings), redacting credentials and payment tokens wherever
 * they appear; `access` for one line per finished request, made of fields that can
 * hold no secret (its path without the query string, which may carry an email).
 */
export interface ApiLogs {
  log: Logger;
  access: Logger;
}

export function apiLogs(level: string, destination: DestinationStream = pino.destination(2)): ApiLogs {
  return {
    log: pino({ level, redact: { paths: ['req.headers.authorization', 'req.headers["idempotency-key"]', '*.paymentToken', 'paymentToken', 'secret', '*.secret'], censor: '[redacted]' } }, destination),
    // No redaction: it walks every line for the paths above, and an access line has none of them.
    access: pino({ level }, destination),
  };
}

/**
 * One access line per request, written when it finishes, instead of Fastify's two
 * (incoming and completed) with the whole request and reply serialized through the
 * redacting logger: at billing-history rates the logging was a third of a request's cost.
 */
export class AccessLog extends LogController {
  readonly #access: Logger;
  constructor(access: Logger) {
    super();
    this.#access = access;
  }

  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const line = {
      reqId: request.id, method: request.method, route: request.routeOptions.url ?? null, path: request.url.split('?', 1)[0],
      status: reply.statusCode, ms: Math.round(reply.elapsedTime * 1000) / 1000, key: request.apiKey?.id,
    };
    if (error) this.#access.error({ ...line, err: { type: error.name, message: error.message } }, 'request errored');
    else this.#access.info(line, 'request completed');
  }
}
