/**
 * API throughput on loopback against a service with 100,000 members:
 * billing-history GET and change-plan POST, next to a bare handler on the
 * same framework measured in the same run.
 *
 *   npm run bench:api -- [--members 100000] [--seconds 10]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { pino } from 'pino';
import { createApiKey } from '../src/api/api-keys.ts';
import { runCollection } from '../src/jobs/collect.ts';
import { runRenewal } from '../src/jobs/renew.ts';
import { openServices } from '../src/wiring.ts';
import { seedDueMembers } from '../test/support/population.ts';

const { values } = parseArgs({ options: { members: { type: 'string', default: '100000' }, seconds: { type: 'string', default: '10' } } });
const members = Number(values.members);
const seconds = Number(values.seconds);
const file = `var/bench-api-${members}.db`;
const dbUrl = `sqlite:${file}`;
const runFile = `var/bench-api-${members}.run.db`;
const day = '2026-03-15';

async function prepare(): Promise<string> {
  let svc = await openServices({ dbUrl, reportingTimeZone: 'UTC', logLevel: 'silent' }, { log: pino({ level: 'silent' }) });
  const have = Number((await svc.store.db.selectFrom('members').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
  if (have !== members) {
    await svc.store.close();
    for (const s of ['', '-wal', '-shm']) rmSync(file + s, { force: true });
    svc = await openServices({ dbUrl, reportingTimeZone: 'UTC', logLevel: 'silent' }, { log: pino({ level: 'silent' }) });
    console.log(`seeding ${members} members with a first invoice each…`);
    await seedDueMembers(svc, members, day);
    await runRenewal(svc, day, { chunkSize: 2000 });
    await runCollection(svc, day, { chunkSize: 2000 });
  }
  await svc.store.close();
  // Every run starts from the same state: change-plan requests would otherwise meet the last run's changes.
  for (const s of ['-wal', '-shm']) rmSync(runFile + s, { force: true });
  copyFileSync(file, runFile);
  const run = await openServices({ dbUrl: `sqlite:${runFile}`, reportingTimeZone: 'UTC', logLevel: 'silent' }, { log: pino({ level: 'silent' }) });
  const { secret } = await createApiKey(run.store.db, 'bench', 'member-app');
  await run.store.close();
  return secret;
}

function start(args: string[]): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/api-server.ts', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout!.on('data', (d: Buffer) => { if (d.toString().includes('ready')) resolve(child); });
    child.on('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
}

const memberId = () => `b${String(Math.floor(Math.random() * members)).padStart(8, '0')}`;

type Req = { path?: string; body?: string | Buffer; [k: string]: unknown };

async function load(url: string, method: 'GET' | 'POST', path: (id: string) => string, headers: Record<string, string>, body?: () => string, custom?: (req: Req) => Req) {
  const result = await autocannon({
    url, connections: 16, duration: seconds,
    requests: [{
      method, headers,
      setupRequest: (req) => (custom ? custom(req as Req) : { ...req, path: path(memberId()), ...(body ? { body: body() } : {}) }) as typeof req,
    }],
  });
  return { rps: Math.round(result.requests.average), p50: result.latency.p50, p99: result.latency.p99, non2xx: result.non2xx, errors: result.errors };
}

const secret = await prepare();
const auth = { authorization: `Bearer ${secret}`, 'content-type': 'application/json' };
const plans = ['basic', 'standard', 'premium'];
// Member n starts on plans[n % 3] (see the seeding); ask each member once for the next plan, so every request is a real change.
let next = 0;
const nextMember = () => next++ % members;

const tally = await start(['--db', `sqlite:${runFile}`, '--port', '3901', '--mode', 'tally']);
const sample = await fetch(`http://127.0.0.1:3901/v1/members/${memberId()}/invoices`, { headers: auth }).then((r) => r.text());
const get = await load('http://127.0.0.1:3901', 'GET', (id) => `/v1/members/${id}/invoices`, auth);
const post = await load('http://127.0.0.1:3901', 'POST', () => '', auth, () => '', (req) => {
  const n = nextMember();
  return { ...req, path: `/v1/members/b${String(n).padStart(8, '0')}/plan-change`, body: JSON.stringify({ plan: plans[(n + 1) % 3] }) };
});
tally.kill();

const payloadFile = 'var/bench-api-payload.json';
writeFileSync(payloadFile, sample);
const bare = await start(['--port', '3902', '--mode', 'bare', '--payload', payloadFile]);
const bareGet = await load('http://127.0.0.1:3902', 'GET', (id) => `/bare/${id}`, auth);
const barePost = await load('http://127.0.0.1:3902', 'POST', (id) => `/bare/${id}`, auth, () => JSON.stringify({ plan: 'premium' }));
bare.kill();
if (!existsSync(file)) throw new Error('the bench store vanished');

const ratio = (a: number, b: number) => Number((a / b).toFixed(3));
console.log(`billing history GET: ${get.rps} req/s, p50 ${get.p50} ms, p99 ${get.p99} ms (non-2xx ${get.non2xx}); bare GET ${bareGet.rps} req/s; ratio ${ratio(get.rps, bareGet.rps)}`);
console.log(`change-plan POST:    ${post.rps} req/s, p50 ${post.p50} ms, p99 ${post.p99} ms (non-2xx ${post.non2xx}); bare POST ${barePost.rps} req/s; ratio ${ratio(post.rps, barePost.rps)}`);
console.log(JSON.stringify({
  members, getRps: get.rps, getP50Ms: get.p50, getP99Ms: get.p99, bareGetRps: bareGet.rps, getRatio: ratio(get.rps, bareGet.rps),
  postRps: post.rps, postP50Ms: post.p50, postP99Ms: post.p99, barePostRps: barePost.rps, postRatio: ratio(post.rps, barePost.rps), postNon2xx: post.non2xx,
}));
