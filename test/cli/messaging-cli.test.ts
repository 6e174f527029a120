import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mock, test } from 'node:test';
import { main } from '../../src/cli/main.ts';
import { openStore } from '../../src/store/connect.ts';
import { appendEvents } from '../../src/store/outbox.ts';
import { eventually, events } from '../support/messaging.ts';

const root = join(import.meta.dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'tally-msg-cli-'));
let files = 0;

/** A store file whose outbox holds these events, none published. */
async function storeWith(evs: ReturnType<typeof events>): Promise<string> {
  const file = join(dir, `s${++files}.db`);
  const store = await openStore(`sqlite:${file}`);
  await appendEvents(store.db, evs);
  await store.close();
  return file;
}

function baseEnv(file: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, TALLY_DB_URL: `sqlite:${file}`, TALLY_LOG_LEVEL: 'silent', ...extra };
  // The embedded transport unless a test asks for the broker.
  if (!extra.TALLY_AMQP_URL) delete env.TALLY_AMQP_URL;
  return env;
}

/** The command as an operator runs it; asynchronous so this process's webhook endpoint keeps answering meanwhile. */
function tally(args: string[], env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), ...args], { cwd: root, env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => (stdout += c));
  child.stderr.on('data', (c) => (stderr += c));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return Object.assign(done, { child });
}

async function endpoint(answer: () => number, delayMs = 0) {
  const keys: string[] = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      keys.push(String(req.headers['idempotency-key']));
      setTimeout(() => {
        res.statusCode = answer();
        res.end();
      }, delayMs);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, keys,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

async function unpublishedCount(file: string): Promise<number> {
  const store = await openStore(`sqlite:${file}`);
  try {
    return (await store.db.selectFrom('outbox').select('id').where('published_at', 'is', null).execute()).length;
  } finally {
    await store.close();
  }
}

async function deadLetterCount(file: string): Promise<number> {
  const store = await openStore(`sqlite:${file}`);
  try {
    return (await store.db.selectFrom('dead_letters').select('id').execute()).length;
  } finally {
    await store.close();
  }
}

test('tally dlq and tally relay refuse bad input with one line and exit 2, as a process', async () => {
  const file = await storeWith(events(1));
  const env = baseEnv(file);
  const cases: [string[], NodeJS.ProcessEnv, RegExp][] = [
    [['dlq', 'replay'], env, /one or the other/],
    [['dlq', 'show', '12345'], env, /no dead letter "12345"/],
    [['dlq', 'list', '--transport', 'amqp'], env, /amqp needs TALLY_AMQP_URL/],
    [['relay'], baseEnv(file, { TALLY_AMQP_URL: 'amqp//broker' }), /TALLY_AMQP_URL "amqp\/\/broker" is not a URL/],
  ];
  const results = await Promise.all(cases.map(([args, e]) => tally(args, e)));
  for (const [i, r] of results.entries()) {
    const [args, , pattern] = cases[i]!;
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, pattern, args.join(' '));
    assert.match(r.stderr, /^tally: [^\n]+\n$/, `${args.join(' ')}: one line, no stack`);
  }
  assert.equal(await unpublishedCount(file), 1, 'the refused relay published nothing');
});

/** The command in this process (a process start costs more than the command): its stdout, or what it threw. */
async function inProcess(args: string[], env: Record<string, string>): Promise<{ code: number; out: string }> {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  const log = mock.method(console, 'log', () => undefined);
  try {
    const code = await main(args);
    return { code, out: log.mock.calls.map((c) => String(c.arguments[0])).join('\n') };
  } finally {
    log.mock.restore();
    for (const k of Object.keys(env)) {
      if (k in saved) process.env[k] = saved[k];
      else delete process.env[k];
    }
  }
}

test('every other refusal names what is wrong and changes nothing', async () => {
  const file = await storeWith(events(1));
  const env = { TALLY_DB_URL: `sqlite:${file}`, TALLY_LOG_LEVEL: 'silent' };
  const cases: [string[], Record<string, string>, RegExp][] = [
    [['dlq'], env, /usage: tally dlq list/],
    [['dlq', 'drop'], env, /usage: tally dlq list/],
    [['dlq', 'show'], env, /usage: tally dlq show ID/],
    [['dlq', 'replay', '1', '--all'], env, /one or the other/],
    [['dlq', 'purge', '--all'], env, /--all goes with dlq replay/],
    [['dlq', 'list', '--limit', '0'], env, /--limit must be a positive whole number/],
    [['dlq', 'list', '--transport', 'kafka'], env, /--transport: must be embedded or amqp, got "kafka"/],
    [['relay'], { ...env, TALLY_WEBHOOK_URL: 'http://127.0.0.1:1/hook' }, /TALLY_WEBHOOK_SECRET: is required/],
    [['relay'], { ...env, TALLY_WEBHOOK_URL: 'ftp://partner', TALLY_WEBHOOK_SECRET: 's' }, /TALLY_WEBHOOK_URL: must be an http/],
    [['relay'], { ...env, TALLY_RELAY_BATCH: '0' }, /TALLY_RELAY_BATCH: must be a whole number of at least 1, got "0"/],
    [['relay', 'now'], env, /usage: tally relay/],
    [['relay'], env, /no consumer would receive the events: set TALLY_WEBHOOK_URL/],
  ];
  for (const [args, e, pattern] of cases) await assert.rejects(inProcess(args, e), pattern, args.join(' '));
  assert.equal(await unpublishedCount(file), 1);
});

test('embedded: relay to a failing webhook parks dead letters; dlq list, replay ID, replay --all and purge', async () => {
  let status = 500;
  const hook = await endpoint(() => status);
  const file = await storeWith([...events(2, 'payment.failed'), ...events(1, 'invoice.paid')]);
  const env = {
    TALLY_DB_URL: `sqlite:${file}`, TALLY_LOG_LEVEL: 'silent',
    TALLY_WEBHOOK_URL: hook.url, TALLY_WEBHOOK_SECRET: 'whsec', TALLY_WEBHOOK_MAX_ATTEMPTS: '2', TALLY_RETRY_INITIAL_MS: '1', TALLY_RETRY_MAX_MS: '2',
  };
  const json = async (args: string[]) => JSON.parse((await inProcess(args, env)).out);
  assert.deepEqual(await json(['relay']), { transport: 'embedded', published: 3, busy: false });
  assert.equal(hook.keys.length, 4, 'two notifications, two attempts each');

  const listed = await json(['dlq', 'list']);
  assert.deepEqual(listed.map((d: { id: string; eventId: string; attempts: number }) => [d.id, d.eventId, d.attempts]),
    [['1', 'payment.failed:inv-1:1', 2], ['2', 'payment.failed:inv-2:1', 2]]);
  assert.match(listed[0].error, /answered 500$/);
  assert.equal((await json(['dlq', 'show', '2'])).message.data.invoice, 'inv-2');

  // Still failing: the replay reports it (exit 1) and the entry stays.
  assert.deepEqual(await inProcess(['dlq', 'replay', '1'], env), { code: 1, out: JSON.stringify({ replayed: 0, failed: 1 }, null, 2) });
  await assert.rejects(inProcess(['dlq', 'replay', '7'], env), /no dead letter with id "7"/);
  assert.equal(await deadLetterCount(file), 2);

  status = 200;
  assert.deepEqual(await json(['dlq', 'replay', '1']), { replayed: 1, failed: 0 });
  assert.equal(hook.keys.at(-1), 'payment.failed:inv-1:1');
  assert.deepEqual(await json(['dlq', 'replay', '--all']), { replayed: 1, failed: 0 });
  assert.deepEqual(await json(['dlq', 'list']), []);
  assert.deepEqual(await json(['dlq', 'purge']), { purged: 0 });
  await hook.close();
});

test('tally relay --follow killed with SIGKILL and run again: every notification delivered, at most one batch twice', async () => {
  const n = 60;
  // Slow enough that the kill lands mid-stream even when this process is starved for a while on a busy machine.
  const hook = await endpoint(() => 200, 40);
  const file = await storeWith(events(n));
  const env = baseEnv(file, {
    TALLY_WEBHOOK_URL: hook.url, TALLY_WEBHOOK_SECRET: 'whsec', TALLY_WEBHOOK_CONCURRENCY: '2',
    TALLY_RELAY_BATCH: '5', TALLY_RELAY_POLL_MS: '50', TALLY_RELAY_LEASE_MS: '300',
  });
  const following = tally(['relay', '--follow'], env);
  await eventually(() => hook.keys.length >= 15, '15 deliveries before the kill', 30_000);
  following.child.kill('SIGKILL');
  assert.equal((await following).signal, 'SIGKILL');
  const atKill = new Set(hook.keys).size;
  assert.ok(atKill < n, `killed mid-stream (${atKill} of ${n} delivered)`);

  // The killed relay's lease lapses within 300 ms; a run that still finds it taken is simply run again.
  let published = 0;
  for (let i = 0; i < 10 && published === 0; i++) {
    const r = await tally(['relay'], env);
    assert.equal(r.code, 0, r.stderr);
    published = JSON.parse(r.stdout).published;
  }
  assert.ok(published > 0);
  assert.equal(new Set(hook.keys).size, n, 'every event delivered');
  assert.ok(hook.keys.length - n <= 5, `${hook.keys.length - n} repeated deliveries: at most the one batch in flight at the kill`);

  const store = await openStore(`sqlite:${file}`);
  const processed = await store.db.selectFrom('processed_events').select('event_id').where('consumer', '=', 'member-webhook').execute();
  const unpublished = await store.db.selectFrom('outbox').select('id').where('published_at', 'is', null).execute();
  await store.close();
  assert.equal(processed.length, n);
  assert.equal(unpublished.length, 0);
  await hook.close();
});

test('tally serve with a webhook configured relays the outbox, shows the lag on /metrics, and stops cleanly on SIGTERM', async () => {
  const hook = await endpoint(() => 200);
  const file = await storeWith([...events(3, 'payment.failed'), ...events(2, 'invoice.paid')]);
  const serving = tally(['serve'], baseEnv(file, {
    TALLY_PORT: '0', TALLY_DEMO_MEMBERS: '0', TALLY_WEBHOOK_URL: hook.url, TALLY_WEBHOOK_SECRET: 'whsec', TALLY_RELAY_POLL_MS: '50',
  }));
  let stdout = '';
  serving.child.stdout.on('data', (c) => (stdout += c));
  await eventually(() => /Messaging: relaying the outbox to the in-process bus; consumers: member-webhook/.test(stdout), 'the service up with messaging', 30_000);
  await eventually(() => hook.keys.length === 3, 'the three notifications delivered', 30_000);
  assert.deepEqual([...hook.keys].sort(), ['payment.failed:inv-1:1', 'payment.failed:inv-2:1', 'payment.failed:inv-3:1']);
  const url = /Tally is serving on (http:\/\/\S+) /.exec(stdout)![1];
  await eventually(async () => /^tally_outbox_lag_seconds 0$/m.test(await (await fetch(`${url}/metrics`)).text()), 'lag 0 once drained');
  serving.child.kill('SIGTERM');
  const exit = await serving;
  assert.equal(exit.code, 0, exit.stderr);
  assert.equal(await unpublishedCount(file), 0);
  await hook.close();
});
