import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import type { DomainEvent } from '../../src/domain/events.ts';
import type { Consumer, Message } from '../../src/messaging/message.ts';
import type { Store } from '../../src/store/connect.ts';
import { openTestServices } from './engine.ts';

export const silent = pino({ level: 'silent' });

/** An empty store of the engine under test. */
export async function freshStore(): Promise<Store> {
  return (await openTestServices()).store;
}

/** Events shaped like the billing jobs' own, numbered so expected values can be written by hand. */
export function events(n: number, type = 'payment.failed', from = 1): DomainEvent[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `${type}:inv-${from + i}:1`, type, memberId: `m${from + i}`, occurredOn: '2026-03-15', data: { invoice: `inv-${from + i}`, attempt: 1 },
  }));
}

/** Wait for a condition with a deadline instead of sleeping a fixed time: fast when things are fast, patient on a slow machine. */
export async function eventually(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A consumer that counts what it handled per event id, and fails while `broken` says so. */
export function countingConsumer(name: string, settings: Partial<Consumer> = {}) {
  const handled = new Map<string, number>();
  const calls: { id: string; at: number }[] = [];
  const state = { broken: false as boolean | ((m: Message) => boolean) };
  const consumer: Consumer = {
    name, topics: ['#'], concurrency: 1, maxAttempts: 3, backoff: { initialMs: 5, maxMs: 20 },
    ...settings,
    async handle(m) {
      calls.push({ id: m.id, at: performance.now() });
      const broken = typeof state.broken === 'function' ? state.broken(m) : state.broken;
      if (broken) throw new Error(`consumer ${name} is broken`);
      handled.set(m.id, (handled.get(m.id) ?? 0) + 1);
    },
  };
  return { consumer, handled, calls, state };
}

/** A partner's webhook endpoint: keeps each delivery's event id and body, and answers with what `status` says at the time. */
export async function webhookReceiver(status: () => number = () => 204) {
  const received: { eventId: string; body: string }[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push({ eventId: String(req.headers['idempotency-key']), body });
      res.statusCode = status();
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/tally`;
  return { url, received, close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}
