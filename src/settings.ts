import { InvalidInput } from './domain/errors.ts';

/** A whole-number setting from the environment, or its default when unset; a bad value is refused naming the variable. */
export function wholeSetting(env: NodeJS.ProcessEnv, name: string, fallback: number, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new InvalidInput(name, `must be a whole number ${max === Number.MAX_SAFE_INTEGER ? `of at least ${min}` : `from ${min} to ${max}`}, got "${raw}"`, raw);
  }
  return n;
}
