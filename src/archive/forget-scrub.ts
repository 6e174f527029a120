import type { Member } from '../domain/member.ts';

/**
 * What forgetting a member does to one piece of stored data, with no I/O: the same function
 * scrubs the hot rows and the archived rows, so a hot row and its archived copy scrubbed
 * apart still hash alike (an archive run finishing a batch compares them by row hash).
 *
 * Personal data is the member's email and payment token. It is found two ways: by key (a
 * field named `email`, `paymentToken` or `payment_token` of an object that is the member's)
 * and by value (the member's email or token as it was, wherever it occurs in a text, in any
 * case). The first needs no knowledge of the values, so a forget re-run after the member
 * itself was scrubbed still finds them; the second finds them in free text (a reason, a
 * quarantine detail) and under keys nobody foresaw.
 */

export const personalKeys: ReadonlySet<string> = new Set(['email', 'paymentToken', 'payment_token']);

/** What a known value is replaced with inside a text. */
export const forgottenMark = '[forgotten]';

export interface Forgetting {
  memberId: string;
  /** The member's email and token as stored before forgetting (none once the member row is scrubbed). */
  values: readonly string[];
}

/**
 * Shorter values are left out: a one- or two-character "token" would rewrite unrelated text.
 * Longer values go first, so a token that contains another value is replaced whole.
 */
export function forgetting(memberId: string, values: readonly (string | null | undefined)[]): Forgetting {
  const kept = [...new Set(values.filter((v): v is string => typeof v === 'string' && v.trim().length >= 3))];
  return { memberId, values: kept.sort((a, b) => b.length - a.length) };
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function replaceValues(text: string, who: Forgetting): string {
  let out = text;
  for (const v of who.values) out = out.replace(new RegExp(escapeRegExp(v), 'gi'), forgottenMark);
  return out;
}

/** The object stands for the member (its view, its row, an event about it). */
function isTheMember(o: Record<string, unknown>, memberId: string): boolean {
  return o.id === memberId || o.memberId === memberId || o.member_id === memberId;
}

/**
 * A JSON value scrubbed. `ofMember` says the whole value is the member's (an audit row of the
 * member, its own quarantine record): then every personal key anywhere in it is cleared;
 * otherwise (a stored response, a dead letter) only under objects that stand for the member.
 * Returns the very same value when nothing changed.
 */
export function scrubJson(value: unknown, who: Forgetting, ofMember: boolean): unknown {
  if (typeof value === 'string') {
    const out = replaceValues(value, who);
    return out === value ? value : out;
  }
  if (Array.isArray(value)) {
    let changed = false;
    const out = value.map((v) => {
      const s = scrubJson(v, who, ofMember);
      if (s !== v) changed = true;
      return s;
    });
    return changed ? out : value;
  }
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    const mine = ofMember || isTheMember(o, who.memberId);
    let changed = false;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(o)) {
      const s = mine && personalKeys.has(k) ? null : scrubJson(v, who, mine);
      if (s !== v) changed = true;
      out[k] = s;
    }
    return changed ? out : value;
  }
  return value;
}

/**
 * A stored text scrubbed: JSON is scrubbed as JSON (and written back compactly only if
 * something changed), any other text has the known values replaced. Null stays null; an
 * unchanged text is returned as it was, byte for byte.
 */
export function scrubText(text: string | null, who: Forgetting, ofMember: boolean): string | null {
  if (text === null) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return replaceValues(text, who);
  }
  const out = scrubJson(parsed, who, ofMember);
  return out === parsed ? text : JSON.stringify(out);
}

/** A row of the member with its personal columns scrubbed; the same row object when nothing changed. */
export function scrubRow<R extends Record<string, unknown>>(row: R, columns: readonly string[], who: Forgetting): R {
  let out: R | undefined;
  for (const c of columns) {
    const v = row[c];
    if (v === null || v === undefined) continue;
    const s = scrubText(String(v), who, true);
    if (s !== String(v)) (out ??= { ...row })[c as keyof R] = s as R[keyof R];
  }
  return out ?? row;
}

/**
 * The member aggregate without email or payment token. The token becomes '' (the aggregate
 * always holds a string there): no gateway knows it, so a charge for a forgotten member is
 * declined as having no payment method, never made on a card the member asked us to forget.
 */
export function scrubMember(member: Member): Member {
  if (member.email === null && member.paymentToken === '') return member;
  return { ...member, email: null, paymentToken: '' };
}
