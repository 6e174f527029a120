import { createHmac, timingSafeEqual } from 'node:crypto';
import { encodeMessage, type Consumer, type Message } from './message.ts';

/** The member notifications a partner's webhook receives. The member aggregate carries no card expiry, so there is no card-expiring notice. */
export const notificationTopics = ['payment.failed', 'subscription.on_hold'];

/** `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`: the timestamp is signed too, so a captured delivery cannot be replayed later. */
export function webhookSignature(secret: string, timestamp: number, body: string): string {
  const mac = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  return `t=${timestamp},v1=${mac}`;
}

/** For receivers (and our tests): true when the header signs this body with this secret within the tolerance. */
export function verifyWebhookSignature(secret: string, header: string, body: string, nowSeconds: number, toleranceSeconds = 300): boolean {
  const parts = Object.fromEntries(header.split(',').map((p) => p.split('=', 2) as [string, string]));
  const t = Number(parts.t);
  if (!Number.isInteger(t) || !parts.v1 || Math.abs(nowSeconds - t) > toleranceSeconds) return false;
  const expected = Buffer.from(webhookSignature(secret, t, body).split('v1=')[1]!, 'hex');
  const given = Buffer.from(parts.v1, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export interface WebhookSettings {
  url: string;
  secret: string;
  timeoutMs: number;
  now?: () => number;
}

export class WebhookRefused extends Error {
  override name = 'WebhookRefused';
}

/** POST one signed delivery; anything but a 2xx within the timeout is a failure for the consumer to retry. */
export async function deliverWebhook(s: WebhookSettings, message: Message): Promise<void> {
  const body = encodeMessage(message);
  const timestamp = Math.floor((s.now ?? Date.now)() / 1000);
  let res: Response;
  try {
    res = await fetch(s.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'tally-signature': webhookSignature(s.secret, timestamp, body),
        // The receiver's deduplication key: a retry after a lost answer carries the same one.
        'idempotency-key': message.id,
        'tally-event-type': message.type,
      },
      body,
      signal: AbortSignal.timeout(s.timeoutMs),
    });
  } catch (err) {
    // fetch hides the network error (ECONNREFUSED, ENOTFOUND) in its cause; that is the part an operator needs.
    const inner = (err as { cause?: { code?: string; message?: string } }).cause;
    const cause = err instanceof Error && err.name === 'TimeoutError' ? `no answer within ${s.timeoutMs} ms` : (inner?.code ?? inner?.message ?? (err as Error).message);
    throw new WebhookRefused(`webhook ${s.url}: ${cause}`);
  }
  // Drain the body so the connection is reused.
  await res.arrayBuffer().catch(() => undefined);
  if (res.status < 200 || res.status > 299) throw new WebhookRefused(`webhook ${s.url} answered ${res.status}`);
}

export function webhookConsumer(s: WebhookSettings, tuning: Pick<Consumer, 'concurrency' | 'maxAttempts' | 'backoff'>): Consumer {
  return { name: 'member-webhook', topics: notificationTopics, ...tuning, handle: (m) => deliverWebhook(s, m) };
}
