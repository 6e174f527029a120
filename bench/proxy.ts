/**
 * The routing proxy's cost: member GETs sent to Tally directly, through `tally proxy`
 * (routing by the member's country from its directory and the route table), and through
 * nginx (Debian package) doing the same routing by a header, all measured in the same run
 * against the same Tally process.
 *
 *   npm run bench:proxy -- [--members 20000] [--seconds 8] [--samples 3000] [--connections 32]
 *
 * Two figures per path: latency without load (`--samples` calls to each path in turn, one at
 * a time on keep-alive connections, timed to the microsecond; the added latency is the proxy's
 * p50/p99 less the direct call's, the three paths interleaved so drift hits all alike), and
 * throughput at saturation (`--connections` open connections, autocannon). Tally, the proxy and nginx each run in
 * their own process; nginx with one worker, as the proxy is one Node process. Targets:
 * added p99 ≤ 2 ms, and ≥ 0.5 of nginx's throughput.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { pino } from 'pino';
import { createApiKey } from '../src/api/api-keys.ts';
import { setRoute } from '../src/proxy/route-table.ts';
import { openServices } from '../src/wiring.ts';
import { seedDueMembers } from '../test/support/population.ts';

const { values } = parseArgs({
  options: {
    members: { type: 'string', default: '20000' }, seconds: { type: 'string', default: '8' },
    samples: { type: 'string', default: '3000' }, connections: { type: 'string', default: '32' },
  },
});
const members = Number(values.members);
const seconds = Number(values.seconds);
const samples = Number(values.samples);
const connections = Number(values.connections);
const nginx = spawnSync('nginx', ['-v']).status === 0 ? 'nginx' : existsNginx();
function existsNginx(): string {
  for (const p of ['/usr/sbin/nginx', '/usr/local/sbin/nginx']) if (spawnSync(p, ['-v']).status === 0) return p;
  throw new Error('nginx is not installed (apt-get install nginx-light): the bench measures the proxy next to it');
}

const dir = resolve('var/bench-proxy');
rmSync(dir, { recursive: true, force: true });
mkdirSync(join(dir, 'logs'), { recursive: true });
const dbUrl = `sqlite:${join(dir, 'tally.db')}`;
const ports = { tally: 3911, proxy: 3912, nginx: 3913, nowhere: 3919 };
const day = '2026-03-15';

console.log(`seeding ${members} members…`);
const svc = await openServices({ dbUrl, reportingTimeZone: 'UTC', logLevel: 'silent' }, { log: pino({ level: 'silent' }) });
await seedDueMembers(svc, members, day);
const { secret } = await createApiKey(svc.store.db, 'bench', 'member-app');
const countries = (await svc.memberStore.db.selectFrom('members').select('country').distinct().execute()).map((r) => r.country);
for (const country of countries) await setRoute(svc.store.db, country, { state: 'tally', canaryPercent: 0 }, 'bench');
// A sample of members and their countries, the same for every path: nginx gets the country as a header.
const sample = (await svc.memberStore.db.selectFrom('members').select(['id', 'country']).orderBy('id').execute()).filter((_, i) => i % Math.max(1, Math.floor(members / 2000)) === 0);
await svc.store.close();

const node = (args: string[], env: Record<string, string> = {}) => spawn(process.execPath, [...(process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean), '--import', 'tsx', ...args], {
  stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, TALLY_LOG_LEVEL: 'warn', ...env },
});
function ready(child: ChildProcess, word: string): Promise<ChildProcess> {
  return new Promise((done, fail) => {
    child.stdout!.on('data', (d: Buffer) => { if (d.toString().includes(word)) done(child); });
    child.once('exit', (code) => fail(new Error(`exited with ${code} before it was ready`)));
  });
}
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

const tally = await ready(node(['bench/api-server.ts', '--db', dbUrl, '--port', String(ports.tally), '--mode', 'tally', '--log-level', 'warn']), 'ready');
const directorySync = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'proxy', 'directory', 'sync'], { env: { ...process.env, TALLY_DB_URL: dbUrl, TALLY_LOG_LEVEL: 'warn' }, encoding: 'utf8' });
if (directorySync.status !== 0) throw new Error(directorySync.stderr);
const proxy = await ready(node(['src/cli/main.ts', 'proxy'], {
  TALLY_DB_URL: dbUrl, TALLY_PROXY_PORT: String(ports.proxy), TALLY_PROXY_TALLY_URL: `http://127.0.0.1:${ports.tally}`,
  TALLY_PROXY_LEGACY_URL: `http://127.0.0.1:${ports.nowhere}`, TALLY_PROXY_LEGACY_KEY: 'unused-in-this-bench',
}), 'routing the member API');

// nginx routes by a header (the client names the country) to the same upstreams, keep-alive to both, one worker.
writeFileSync(join(dir, 'nginx.conf'), `
worker_processes 1;
daemon off;
error_log ${join(dir, 'logs', 'error.log')} warn;
pid ${join(dir, 'nginx.pid')};
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/client_body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fastcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  upstream tally_api { server 127.0.0.1:${ports.tally}; keepalive 128; }
  upstream legacy_api { server 127.0.0.1:${ports.nowhere}; keepalive 128; }
  map $http_x_country $member_api { default legacy_api; ${countries.map((c) => `${c} tally_api;`).join(' ')} }
  keepalive_requests 1000000;
  keepalive_timeout 65s;
  server {
    listen 127.0.0.1:${ports.nginx};
    location /v1/members/ {
      proxy_pass http://$member_api;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`);
const nginxProcess = spawn(nginx, ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: ['ignore', 'ignore', 'inherit'] });
await new Promise((r) => setTimeout(r, 500));

type Figures = { rps: number; p50: number; p90: number; p99: number; non2xx: number; errors: number };
type Timing = { p50: number; p90: number; p99: number; non2xx: number };
let cursor = 0;
const next = () => sample[cursor++ % sample.length]!;

async function load(port: number, opts: { connections: number; duration: number }): Promise<Figures> {
  const result = await autocannon({
    url: `http://127.0.0.1:${port}`, connections: opts.connections, duration: opts.duration,
    requests: [{
      method: 'GET', headers: { authorization: `Bearer ${secret}` },
      setupRequest: (req) => {
        const m = next();
        return { ...req, path: `/v1/members/${m.id}`, headers: { ...(req.headers as Record<string, string>), 'x-country': m.country } } as typeof req;
      },
    }],
  });
  return { rps: Math.round(result.requests.average), p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, non2xx: result.non2xx, errors: result.errors };
}

const paths = { direct: ports.tally, proxy: ports.proxy, nginx: ports.nginx } as const;
const latency = {} as Record<keyof typeof paths, Timing>;

/** Each path called in turn, one call at a time on a keep-alive connection, each timed with the monotonic clock. */
async function timeEach(n: number): Promise<Record<keyof typeof paths, Timing>> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const call = (port: number, m: { id: string; country: string }) => new Promise<number>((done, fail) => {
    const started = process.hrtime.bigint();
    const req = httpRequest({ host: '127.0.0.1', port, path: `/v1/members/${m.id}`, agent, headers: { authorization: `Bearer ${secret}`, 'x-country': m.country } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? done(Number(process.hrtime.bigint() - started) / 1e6) : done(-1)));
    });
    req.on('error', fail);
    req.end();
  });
  const times = { direct: [] as number[], proxy: [] as number[], nginx: [] as number[] };
  const failed = { direct: 0, proxy: 0, nginx: 0 };
  for (let i = 0; i < n; i++) {
    const m = next();
    for (const [name, port] of Object.entries(paths) as [keyof typeof paths, number][]) {
      const ms = await call(port, m);
      if (ms < 0) failed[name]++;
      else times[name].push(ms);
    }
  }
  agent.destroy();
  const q = (xs: number[], p: number) => Number([...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]!.toFixed(3));
  const out = {} as Record<keyof typeof paths, Timing>;
  for (const name of Object.keys(paths) as (keyof typeof paths)[]) out[name] = { p50: q(times[name], 50), p90: q(times[name], 90), p99: q(times[name], 99), non2xx: failed[name] };
  return out;
}
const throughput = {} as Record<keyof typeof paths, Figures>;
try {
  // Warm every path (JIT, keep-alive pools, the proxy's directory cache) before measuring.
  for (const port of Object.values(paths)) await load(port, { connections: 8, duration: 2 });
  Object.assign(latency, await timeEach(samples));
  for (const name of Object.keys(paths) as (keyof typeof paths)[]) {
    console.log(`${name.padEnd(6)} one call at a time: p50 ${latency[name].p50} ms, p90 ${latency[name].p90} ms, p99 ${latency[name].p99} ms (non-2xx ${latency[name].non2xx})`);
  }
  for (const [name, port] of Object.entries(paths) as [keyof typeof paths, number][]) {
    throughput[name] = await load(port, { connections, duration: seconds });
    console.log(`${name.padEnd(6)} saturated, ${connections} connections: ${throughput[name].rps} req/s, p99 ${throughput[name].p99} ms (non-2xx ${throughput[name].non2xx}, errors ${throughput[name].errors})`);
  }
} finally {
  nginxProcess.kill('SIGQUIT');
  await Promise.all([stop(proxy), stop(tally)]);
}

const added = (name: 'proxy' | 'nginx', q: 'p50' | 'p99') => Number((latency[name][q] - latency.direct[q]).toFixed(3));
const ratio = Number((throughput.proxy.rps / throughput.nginx.rps).toFixed(3));
console.log(`added latency, one call at a time: proxy p50 +${added('proxy', 'p50')} ms, p99 +${added('proxy', 'p99')} ms; nginx p50 +${added('nginx', 'p50')} ms, p99 +${added('nginx', 'p99')} ms (target: proxy p99 ≤ +2 ms)`);
console.log(`throughput: direct ${throughput.direct.rps} req/s, proxy ${throughput.proxy.rps}, nginx ${throughput.nginx.rps}: proxy/nginx ${ratio} (target ≥ 0.5)`);
console.log(JSON.stringify({
  members, seconds, samples, connections,
  directP50Ms: latency.direct.p50, directP99Ms: latency.direct.p99, proxyP50Ms: latency.proxy.p50, proxyP99Ms: latency.proxy.p99, nginxP50Ms: latency.nginx.p50, nginxP99Ms: latency.nginx.p99,
  proxyAddedP50Ms: added('proxy', 'p50'), proxyAddedP99Ms: added('proxy', 'p99'), nginxAddedP50Ms: added('nginx', 'p50'), nginxAddedP99Ms: added('nginx', 'p99'),
  directRps: throughput.direct.rps, proxyRps: throughput.proxy.rps, nginxRps: throughput.nginx.rps, proxyToNginx: ratio,
  non2xx: Object.values(throughput).reduce((n, f) => n + f.non2xx, 0) + Object.values(latency).reduce((n, f) => n + f.non2xx, 0),
}));
