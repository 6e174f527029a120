import { randomBytes } from 'node:crypto';
import { connect as tcpConnect, createServer, type Socket } from 'node:net';
import amqp from 'amqplib';
import { declaredNames } from '../../src/messaging/amqp-transport.ts';
import type { Consumer } from '../../src/messaging/message.ts';

export const amqpUrl = process.env.TALLY_AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672';

/** Skip the broker tests only when no broker was asked for and none answers on the default port. */
export async function brokerSkipReason(): Promise<string | false> {
  if (process.env.TALLY_AMQP_URL) return false;
  const answers = await new Promise<boolean>((resolve) => {
    const s = tcpConnect(5672, '127.0.0.1');
    s.setTimeout(1000);
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
    s.once('timeout', () => { s.destroy(); resolve(false); });
  });
  return answers ? false : 'TALLY_AMQP_URL is unset and no RabbitMQ answers on 127.0.0.1:5672';
}

/** A name no other test run uses, so runs on one broker never see each other's messages. */
export function uniquePrefix(test: string): string {
  return `tally-test-${test}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

export async function dropTopology(prefix: string, consumers: Consumer[]): Promise<void> {
  const { exchanges, queues } = declaredNames(prefix, consumers);
  const conn = await amqp.connect(amqpUrl);
  try {
    const ch = await conn.createChannel();
    for (const q of queues) await ch.deleteQueue(q);
    for (const e of exchanges) await ch.deleteExchange(e);
    await ch.close();
  } finally {
    await conn.close();
  }
}

/** A TCP hop in front of the broker that the test can cut, as if the broker went away. */
export async function cuttableLink(): Promise<{ url: string; cut(): void; close(): Promise<void> }> {
  const target = new URL(amqpUrl);
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = tcpConnect(Number(target.port || 5672), target.hostname);
    sockets.add(client).add(upstream);
    client.pipe(upstream).pipe(client);
    const drop = () => { client.destroy(); upstream.destroy(); sockets.delete(client); sockets.delete(upstream); };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const url = new URL(amqpUrl);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return {
    url: url.toString(),
    cut: () => { for (const s of sockets) s.destroy(); },
    close: () => new Promise((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }),
  };
}
