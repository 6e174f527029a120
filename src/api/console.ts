import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sendProblem } from './problem.ts';

/** Where `npm run console:build` writes the operator console (web/dist). */
export const consoleDist = resolve(dirname(fileURLToPath(import.meta.url)), '../../web/dist');

/**
 * Build the console when it has not been built (a clone installed with --ignore-scripts, or
 * web/dist deleted): `tally serve` then works without a step to remember. Vite is loaded only here.
 */
export async function ensureConsoleBuilt(log: (msg: string) => void = console.log): Promise<boolean> {
  if (existsSync(join(consoleDist, 'index.html'))) return true;
  log('the operator console is not built yet (web/dist); building it now');
  try {
    const { build } = await import('vite');
    await build({ configFile: resolve(consoleDist, '../vite.config.ts'), logLevel: 'warn' });
    return existsSync(join(consoleDist, 'index.html'));
  } catch (err) {
    log(`building the operator console failed, /console is not served: ${(err as Error).message}`);
    return false;
  }
}

/**
 * The operator console at /console: built files under /console/, and every other path under
 * /console (a page's deep link, reloaded) answered with index.html so the client routes it.
 * Hashed assets are cached for good; index.html is revalidated so a new build shows at once.
 */
export async function consoleRoutes(app: FastifyInstance, dir: string): Promise<void> {
  const index = join(dir, 'index.html');
  await app.register(fastifyStatic, {
    root: dir, prefix: '/console/', wildcard: false, index: false, decorateReply: true, cacheControl: false,
    setHeaders: (res, path) => {
      res.setHeader('cache-control', path.startsWith(join(dir, 'assets')) ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
  const page = async (req: FastifyRequest, reply: FastifyReply) => {
    // A missing asset is a 404, not the page (a browser would try to run HTML as a script).
    if (req.url.startsWith('/console/assets/')) return sendProblem(reply, 404, `no file ${req.url.split('?')[0]}`);
    if (!existsSync(index)) return sendProblem(reply, 404, 'the operator console is not built: run npm run console:build');
    return reply.header('cache-control', 'no-cache').sendFile('index.html', dir, { cacheControl: false });
  };
  app.get('/console', { schema: { hide: true } }, page);
  app.get('/console/*', { schema: { hide: true } }, page);
}
