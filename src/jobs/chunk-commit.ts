import { mayRetry, retryOnConflict } from '../store/members.ts';

/**
 * Commit a chunk of members as one transaction, redone on a fresh read when another
 * writer changed one of them. A chunk that keeps colliding (members busy with their own
 * requests while the job runs) is then committed member by member, each waiting out its
 * own writers: a job never fails because its members are in use.
 *
 * `work(ids, attempt)` reads what it needs afresh unless it is the first attempt on
 * the whole chunk, and commits; `add` sums the results of the one-by-one commits.
 */
export async function inChunkOrOneByOne<R>(ids: string[], work: (ids: string[], attempt: number) => Promise<R>, add: (a: R, b: R) => R): Promise<R> {
  try {
    return await retryOnConflict((attempt) => work(ids, attempt), ids.length > 1 ? { attempts: 4 } : {});
  } catch (err) {
    if (ids.length <= 1 || !mayRetry(err)) throw err;
  }
  let total: R | undefined;
  for (const id of ids) {
    const one = await retryOnConflict((attempt) => work([id], attempt + 1));
    total = total === undefined ? one : add(total, one);
  }
  return total!;
}
