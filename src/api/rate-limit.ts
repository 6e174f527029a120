/**
 * Requests per minute per caller, counted in fixed windows: a caller is its API key
 * once the key is verified, otherwise its address (public routes, and secrets that
 * failed, so guessing keys is limited too). In memory, per process.
 */
export interface RateDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Seconds until the window resets. */
  resetIn: number;
}

export function rateLimiter(limit: number, windowMs = 60_000, now: () => number = Date.now) {
  if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`rate limit must be a positive whole number of requests, got ${limit}`);
  const windows = new Map<string, { endsAt: number; count: number }>();
  let sweepAt = 0;
  return (caller: string): RateDecision => {
    const t = now();
    // Forget finished windows now and then, so callers that went away do not accumulate.
    if (t >= sweepAt) {
      for (const [k, w] of windows) if (w.endsAt <= t) windows.delete(k);
      sweepAt = t + windowMs;
    }
    let w = windows.get(caller);
    if (!w || w.endsAt <= t) windows.set(caller, (w = { endsAt: t + windowMs, count: 0 }));
    w.count++;
    return { allowed: w.count <= limit, limit, remaining: Math.max(0, limit - w.count), resetIn: Math.ceil((w.endsAt - t) / 1000) };
  };
}

export type RateLimiter = ReturnType<typeof rateLimiter>;
