import createClient from 'openapi-fetch';
import type { paths } from './schema.d.ts';

/** Tally's API as generated from its OpenAPI document (scripts/console-openapi.ts): paths, bodies and answers are typed. */
export type Api = ReturnType<typeof createClient<paths>>;
export type { paths, components } from './schema.d.ts';
export type Role = paths['/v1/whoami']['get']['responses'][200]['content']['application/json']['role'];
export type Problem = { title?: string; status?: number; detail?: string; field?: string };

/**
 * A client that sends `key` on every call; `onUnauthorized` runs when the API answers 401
 * (the key was revoked meanwhile), so the console can sign out.
 */
export function apiClient(key: string, onUnauthorized?: () => void): Api {
  const client = createClient<paths>({ baseUrl: globalThis.location?.origin ?? '' });
  client.use({
    onRequest({ request }) {
      request.headers.set('authorization', `Bearer ${key}`);
      return request;
    },
    onResponse({ response }) {
      if (response.status === 401) onUnauthorized?.();
      return response;
    },
  });
  return client;
}

/** A sentence for the user from an API error (problem+json) or a network failure. */
export function problemMessage(error: unknown, fallback = 'The request failed.'): string {
  if (error && typeof error === 'object' && 'detail' in error && typeof (error as Problem).detail === 'string') return (error as Problem).detail!;
  if (error instanceof Error) return `${fallback} ${error.message}`;
  return fallback;
}
