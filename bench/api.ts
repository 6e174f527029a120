/**
 * API throughput on loopback against a service with 100,000 members:
 * billing-history GET and change-plan POST, next to a bare handler on the
 * same framework measured in the same run.
 *
 *   npm run bench:api -- [--members 100000] [--seconds 10] [--rounds 3] [--log-level info]
 *
 * The service logs as `tally serve` does (an access line per request at `info`;
 * `--log-level warn` measures it without). Each round starts the service on a fresh
 * copy of the store and measures it and the bare handler in turn; the figures are
 * the medians of the rounds. With two or more cores the server runs on one and the
 * load generator on another (taskset), so neither steals the other's core.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { pino } from 'pino';
import { createApiKey } from '../src/api/api-keys.ts';
import { runCollection } from '../src/jobs/collect.ts';
import { runRenewal } from '../src/jobs/renew.ts';
import { openServices } from '../src/wiring.ts';
import { seedDueMembers } from '../test/support/population.ts';

const { values } = parseArgs({
  options: {
    members: { type: 'string', default: '100000' }, seconds: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' }, 'log-level': { type: 'string', default: 'info' },
  },
});
const members = Number(values.members);
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
const logLevel = values['log-level'];
const file = `var/bench-api-${members}.db`;
const dbUrl = `sqlite:${file}`;
const runFile = `var/bench-api-${members}.run.db`;
const day = '2026-03-15';
const silent = { log: pino({ level: 'silent' }) };

const pinned = availableParallelism() >= 2 && spawnSync('taskset', ['-p', '-c', '0', String(process.pid)]).status === 0;

async function seed(): Promise<void> {
  let svc = await openServices({ dbUrl, reportingTimeZone: 'UTC', logLevel: 'silent' }, silent);
  const have = Number((await svc.store.db.selectFrom('members').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
  if (have !== members) {
    await svc.store.close();
    for (const s of ['', '-wal', '-shm']) rmSync(file + s, { force: true });
    svc = await openServices({ dbUrl, reportingTimeZone: 'UTC', logLevel: 'silent' }, silent);
    console.log(`seeding ${members} members with a first invoice each…`);
    await seedDueMembers(svc, members, day);
    await runRenewal(svc, day, { chunkSize: 2000 });
    await runCollection(svc, day, { chunkSize: 2000 });
  }
  await svc.store.close();
}

/** A fresh copy of the seeded store with a member-app key: change-plan requests would otherwise meet the last round's changes. */
async function freshCopy(): Promise<string> {
  for (const s of ['', '-wal', '-shm']) rmSync(runFile + s, { force: true });
  copyFileSync(file, runFile);
  const run = await openServices({ dbUrl: `sqlite:${runFile}`, reportingTimeZone: 'UTC', logLevel: 'silent' }, silent);
  const { secret } = await createApiKey(run.store.db, 'bench', 'member-app');
  await run.store.close();
  return secret;
}

function start(args: string[]): Promise<ChildProcess> {
  const node = [process.execPath, '--import', 'tsx', 'bench/api-server.ts', ...args];
  return new Promise((resolve, reject) => {
    const child = pinned ? spawn('taskset', ['-c', '1', ...node], { stdio: ['ignore', 'pipe', 'inherit'] }) : spawn(node[0]!, node.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout!.on('data', (d: Buffer) => { if (d.toString().includes('ready')) resolve(child); });
    child.on('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
}

async function stop(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill();
  await exited;
}

const memberId = () => `b${String(Math.floor(Math.random() * members)).padStart(8, '0')}`;

type Req = { path?: string; body?: string | Buffer; [k: string]: unknown };
type Figures = { rps: number; p50: number; p99: number; non2xx: number };

async function load(url: string, method: 'GET' | 'POST', headers: Record<string, string>, request: () => { path: string; body?: string }): Promise<Figures> {
  const result = await autocannon({
    url, connections: 16, duration: seconds,
    requests: [{ method, headers, setupRequest: (req) => ({ ...(req as Req), ...request() }) as typeof req }],
  });
  if (result.errors) throw new Error(`${result.errors} connection errors against ${url}`);
  return { rps: Math.round(result.requests.average), p50: result.latency.p50, p99: result.latency.p99, non2xx: result.non2xx };
}

const plans = ['basic', 'standard', 'premium'];
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ratio = (a: number, b: number) => Number((a / b).toFixed(3));

await seed();
const measured: { get: Figures; post: Figures; bareGet: Figures; barePost: Figures }[] = [];
for (let round = 1; round <= rounds; round++) {
  const secret = await freshCopy();
  const auth = { authorization: `Bearer ${secret}`, 'content-type': 'application/json' };
  const tally = await start(['--db', `sqlite:${runFile}`, '--port', '3901', '--mode', 'tally', '--log-level', logLevel!]);
  const sample = await fetch(`http://127.0.0.1:3901/v1/members/${memberId()}/invoices`, { headers: auth }).then((r) => r.text());
  const get = await load('http://127.0.0.1:3901', 'GET', auth, () => ({ path: `/v1/members/${memberId()}/invoices` }));
  // Member n starts on plans[n % 3] (see the seeding); ask each member once for the next plan, so every request is a real change.
  let next = 0;
  const post = await load('http://127.0.0.1:3901', 'POST', auth, () => {
    const n = next++ % members;
    return { path: `/v1/members/b${String(n).padStart(8, '0')}/plan-change`, body: JSON.stringify({ plan: plans[(n + 1) % 3] }) };
  });
  await stop(tally);

  const payloadFile = 'var/bench-api-payload.json';
  writeFileSync(payloadFile, sample);
  const bare = await start(['--port', '3902', '--mode', 'bare', '--payload', payloadFile]);
  const bareGet = await load('http://127.0.0.1:3902', 'GET', auth, () => ({ path: `/bare/${memberId()}` }));
  const barePost = await load('http://127.0.0.1:3902', 'POST', auth, () => ({ path: `/bare/${memberId()}`, body: JSON.stringify({ plan: 'premium' }) }));
  await stop(bare);
  console.log(`round ${round}: GET ${get.rps} req/s (bare ${bareGet.rps}, ratio ${ratio(get.rps, bareGet.rps)}), POST ${post.rps} req/s (bare ${barePost.rps}, ratio ${ratio(post.rps, barePost.rps)})`);
  measured.push({ get, post, bareGet, barePost });
}
if (!existsSync(file)) throw new Error('the bench store vanished');

const pick = (route: keyof (typeof measured)[number]): Figures => ({
  rps: median(measured.map((m) => m[route].rps)), p50: median(measured.map((m) => m[route].p50)),
  p99: median(measured.map((m) => m[route].p99)), non2xx: median(measured.map((m) => m[route].non2xx)),
});
const [get, post, bareGet, barePost] = [pick('get'), pick('post'), pick('bareGet'), pick('barePost')];
console.log(`medians of ${rounds} rounds of ${seconds} s, logs at ${logLevel}, ${pinned ? 'server and load generator on separate cores' : 'not pinned to cores'}:`);
console.log(`billing history GET: ${get.rps} req/s, p50 ${get.p50} ms, p99 ${get.p99} ms (non-2xx ${get.non2xx}); bare GET ${bareGet.rps} req/s; ratio ${ratio(get.rps, bareGet.rps)}`);
console.log(`change-plan POST:    ${post.rps} req/s, p50 ${post.p50} ms, p99 ${post.p99} ms (non-2xx ${post.non2xx}); bare POST ${barePost.rps} req/s; ratio ${ratio(post.rps, barePost.rps)}`);
console.log(JSON.stringify({
  members, rounds, seconds, logLevel, pinned,
  getRps: get.rps, getP50Ms: get.p50, getP99Ms: get.p99, bareGetRps: bareGet.rps, getRatio: ratio(get.rps, bareGet.rps),
  postRps: post.rps, postP50Ms: post.p50, postP99Ms: post.p99, barePostRps: barePost.rps, postRatio: ratio(post.rps, barePost.rps), postNon2xx: post.non2xx,
  getRatios: measured.map((m) => ratio(m.get.rps, m.bareGet.rps)),
}));
