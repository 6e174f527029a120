import { createHash } from 'node:crypto';

/**
 * Where a member's call goes: the pure rules of the routing proxy, tested without a server.
 *
 * A country is `legacy` (the old system answers), `frozen` (its data is moving: reads are
 * answered where the member is, writes are refused with 503 and Retry-After so the client
 * retries them after the move) or `tally`. A canary share sends a stable part of a country's
 * members to Tally ahead of the rest: a member's cohort is a hash of its id (0–99), so the
 * same member is always on the same side and raising the share only adds members.
 */
export const routeStates = ['legacy', 'frozen', 'tally'] as const;
export type RouteState = (typeof routeStates)[number];
export type Backend = 'legacy' | 'tally';

export interface CountryRoute {
  state: RouteState;
  /** 0–100: members whose cohort is below it are Tally's whatever the state. */
  canaryPercent: number;
}

/** Every country starts on the legacy: Tally takes a country only by its cut-over. */
export const unrouted: CountryRoute = { state: 'legacy', canaryPercent: 0 };

/**
 * Does Tally serve (some of) the country, so that back-sync writes its changes into the legacy:
 * its route is `tally`, or `frozen` (a country frozen on its way back to the legacy is drained by
 * back-sync first), or it sends a canary share of its members to Tally. A country without a
 * route (`unrouted`) is not served.
 */
export function tallyServes(route: CountryRoute): boolean {
  return route.state === 'tally' || route.state === 'frozen' || route.canaryPercent > 0;
}

/** A member's cohort, 0–99: the first 32 bits of SHA-1 of its id, modulo 100 (stable across processes, versions and machines). */
export function cohortOf(memberId: string): number {
  return createHash('sha1').update(memberId).digest().readUInt32BE(0) % 100;
}

export type Decision = { backend: Backend; frozen: false } | { backend: Backend; frozen: true };

/** Methods that change nothing: answered even while the country is frozen. */
const reads = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Route one call: the backend holding the member, and whether the call must wait because
 * the member's country is frozen. A sign-up has no member yet: its id (given in the body, or
 * none) still picks the cohort, so a canary member signs up where it will live.
 */
export function decide(method: string, memberId: string | null, route: CountryRoute): Decision {
  const canary = route.canaryPercent > 0 && memberId !== null && cohortOf(memberId) < route.canaryPercent;
  const backend: Backend = route.state === 'tally' || canary ? 'tally' : 'legacy';
  return { backend, frozen: route.state === 'frozen' && !reads.has(method.toUpperCase()) };
}

/** Check an operator's route change; every error names its field. */
export function parseRoute(state: string, canary: string | number | undefined): CountryRoute {
  if (!(routeStates as readonly string[]).includes(state)) throw new RangeError(`state: must be one of ${routeStates.join(', ')}, got "${state}"`);
  const text = canary === undefined ? '0' : String(canary).replace(/%$/, '');
  if (!/^\d{1,3}$/.test(text) || Number(text) > 100) throw new RangeError(`canary: must be a whole percentage from 0 to 100, got "${canary}"`);
  return { state: state as RouteState, canaryPercent: Number(text) };
}

/** The member a path names, for the member and DVD partner APIs (`/v1/members/{id}/…`, `/v1/dvd/members/{id}/…`). */
export function memberOfPath(path: string): string | null {
  const m = /^\/v1\/(?:dvd\/)?members\/([^/?#]+)/.exec(path);
  if (!m) return null;
  try {
    return decodeURIComponent(m[1]!);
  } catch {
    return null;
  }
}
