import { hostname, userInfo } from 'node:os';
import { forgetMember, type ForgetCheckpoint } from '../archive/forget-member.ts';
import type { Services } from '../jobs/services.ts';

const usageLine = 'usage: tally archive forget MEMBER --reason TEXT [--name WHO] [--to DIR]';

/**
 * A crash test's hook: TALLY_FORGET_KILL_AT=point kills the process with SIGKILL the first time
 * the forget passes that point, so the test sees what a lost machine leaves. Unset in production.
 */
function killAt(): ((p: ForgetCheckpoint) => void) | undefined {
  const point = process.env.TALLY_FORGET_KILL_AT;
  if (!point) return undefined;
  return (p) => {
    if (p === point) process.kill(process.pid, 'SIGKILL');
  };
}

/** `tally archive forget MEMBER --reason TEXT`: one JSON line of what was done; an unknown member is one line and exit 2. */
export async function forgetCommand(svc: Services, args: string[], values: Record<string, unknown>, root: string, usageError: (message: string) => Error): Promise<number> {
  if (args.length !== 1) throw usageError(usageLine);
  const reason = typeof values.reason === 'string' ? values.reason : undefined;
  if (reason === undefined) throw usageError(`archive forget needs --reason TEXT (the member's request, a ticket); ${usageLine}`);
  const by = typeof values.name === 'string' ? values.name : `${userInfo().username}@${hostname()}`;
  const result = await forgetMember({ ledger: svc.store.db, member: svc.memberStore.db }, { memberId: args[0]!, reason, by, root, checkpoint: killAt() });
  console.log(JSON.stringify(result));
  return 0;
}
