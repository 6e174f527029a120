import type { Services } from '../jobs/services.ts';
import { declaredBy, type DeclaredRule } from './declared-rules.ts';
import { diffMember } from './member-facts.ts';
import type { ReportWriter } from './report-files.ts';
import type { Difference, DifferenceKind } from './report-format.ts';
import type { LegacyFacts, SourceMember } from './sources/legacy-facts.ts';
import { migratedOf, migratedPage, quarantined, tallyFacts, type TallyMember } from './tally-facts.ts';

export interface CompareMembersOptions {
  source: string;
  country: string;
  facts: LegacyFacts;
  rules: readonly DeclaredRule[];
  report: ReportWriter;
  /** The first day of the hot history each migration run kept (by run id), and the one for a member of no run. */
  horizonOf: (runId: number | null) => string;
  /** Only these members (an earlier report's): the rest of the country is not looked at. */
  members?: string[];
  /**
   * `source-to-tally` (the default): the source's members of the country, proving a migration.
   * `tally-to-source`: Tally's members of the country, each against the source, proving back-sync
   * (Tally's changes written back into the source): a member Tally has and the source does not is
   * `missing`; a source member Tally does not have is not looked at (the source's own, not
   * Tally's to sync); nothing is `stale` (the source's change marks move with every write-back).
   */
  direction?: CompareDirection;
  pageSize?: number;
  onProgress?: (done: number) => void;
}

export type CompareDirection = 'source-to-tally' | 'tally-to-source';

export interface CompareCounts {
  /** Members looked at: the source's, and Tally's the source no longer has. */
  checked: number;
  /** Members with nothing to report. */
  clean: number;
  /** Members by kind (a member with several differing fields counts once under `differs`). */
  members: Record<DifferenceKind, number>;
  /** Difference rows not covered by a declared rule: what makes a run fail. */
  differences: number;
  /** Undeclared differing fields, by field. */
  fields: Record<string, number>;
  /** Differences accepted by a declared rule, by rule, with its reason. */
  declared: Record<string, { count: number; reason: string }>;
}

export interface CompareOutcome {
  status: 'clean' | 'differences';
  counts: CompareCounts;
  /** The first few report rows of each kind (and of each declared rule), to show without opening the report. */
  examples: Record<string, Difference[]>;
}

const exampleCount = 5;

/**
 * Compare a country's members, source against Tally, a page at a time: each source page's
 * facts (its own derivation, see sources/) against Tally's facts of the same members, then
 * the members Tally got from this source that the source no longer has. Every difference is
 * streamed to the report as it is found; the outcome holds counts and examples only.
 *
 * A member the source changed after it was migrated (its change mark is later than the
 * one recorded at load) is `stale`, not compared field by field: the live source moved on,
 * and `tally migrate --since-last` brings it up. A member the migration quarantined is
 * `quarantined`, with its reasons. Neither is a defect; both are counted and shown.
 */
export async function compareMembers(svc: Pick<Services, 'store' | 'memberStore'>, opts: CompareMembersOptions): Promise<CompareOutcome> {
  const counts: CompareCounts = { checked: 0, clean: 0, members: { missing: 0, extra: 0, differs: 0, stale: 0, quarantined: 0 }, differences: 0, fields: {}, declared: {} };
  const examples: Record<string, Difference[]> = {};
  const seen = new Set<string>();
  const row = (member: string, kind: DifferenceKind, rest: Partial<Difference> = {}): Difference => ({
    source: opts.source, country: opts.country, member, kind, field: null, source_value: null, tally_value: null, rule: null, detail: null, ...rest,
  });
  const keep = async (rows: Difference[]) => {
    for (const r of rows) {
      const key = r.rule ? `declared:${r.rule}` : r.kind;
      const list = (examples[key] ??= []);
      if (list.length < exampleCount) list.push(r);
    }
    await opts.report.write(rows);
  };

  const comparePage = async (members: SourceMember[]) => {
    const ids = members.map((m) => m.facts.member);
    const [tally, held] = await Promise.all([tallyFacts(svc, ids), quarantined(svc.memberStore.db, opts.source, opts.country, ids)]);
    const rows: Difference[] = [];
    for (const s of members) {
      const id = s.facts.member;
      seen.add(id);
      counts.checked++;
      const t = tally.get(id);
      if (!t) {
        const why = held.get(id);
        counts.members[why ? 'quarantined' : 'missing']++;
        if (!why) counts.differences++;
        rows.push(row(id, why ? 'quarantined' : 'missing', { detail: why ?? `source key ${s.sourceKey}: not in Tally` }));
        continue;
      }
      if (t.migratedMark !== null && s.mark > t.migratedMark) {
        counts.members.stale++;
        rows.push(row(id, 'stale', { source_value: JSON.stringify(s.mark), tally_value: JSON.stringify(t.migratedMark), detail: 'changed in the source after it was migrated: tally migrate --since-last brings it up' }));
        continue;
      }
      fieldByField(id, s, t, rows);
    }
    await keep(rows);
    opts.onProgress?.(counts.checked);
  };

  /** The member's fields compared, each difference a row (declared ones counted under their rule), the member counted clean or differing. */
  const fieldByField = (id: string, s: SourceMember, t: TallyMember, rows: Difference[]) => {
    let failing = false;
    for (const d of diffMember(s.since(opts.horizonOf(t.runId)), t.facts)) {
      const rule = opts.rules.length ? declaredBy(opts.rules, d, s.facts.invoices) : undefined;
      if (rule) {
        const c = (counts.declared[rule.name] ??= { count: 0, reason: rule.reason });
        c.count++;
      } else {
        failing = true;
        counts.differences++;
        counts.fields[d.field] = (counts.fields[d.field] ?? 0) + 1;
      }
      rows.push(row(id, 'differs', { ...d, rule: rule?.name ?? null }));
    }
    if (failing) counts.members.differs++;
    else counts.clean++;
  };

  const extra = async (ids: string[]) => {
    const rows = ids.map((id) => row(id, 'extra', { detail: 'in Tally (migrated from this source), no longer in the source' }));
    counts.checked += ids.length;
    counts.members.extra += ids.length;
    counts.differences += ids.length;
    await keep(rows);
  };

  /** Tally → source: Tally's members, each against the source's facts of it; the window is the one each was migrated with (a member born in Tally: the latest). */
  const compareBack = async (ids: string[]) => {
    const [tally, found] = await Promise.all([tallyFacts(svc, ids), opts.facts.byMembers(opts.country, ids)]);
    const source = new Map(found.map((m) => [m.facts.member, m]));
    const rows: Difference[] = [];
    for (const id of ids) {
      const t = tally.get(id);
      if (!t) continue;
      counts.checked++;
      const s = source.get(id);
      if (!s) {
        counts.members.missing++;
        counts.differences++;
        rows.push(row(id, 'missing', { detail: `in Tally, not in the ${opts.source}: not written back` }));
        continue;
      }
      fieldByField(id, s, t, rows);
    }
    await keep(rows);
    opts.onProgress?.(counts.checked);
  };

  const pageSize = opts.pageSize ?? 2000;
  if (opts.direction === 'tally-to-source') {
    if (opts.members) {
      for (let i = 0; i < opts.members.length; i += pageSize) await compareBack(opts.members.slice(i, i + pageSize));
    } else {
      let after = '';
      for (;;) {
        const ids = (await svc.memberStore.db.selectFrom('members').select('id').where('country', '=', opts.country).where('id', '>', after).orderBy('id').limit(pageSize).execute()).map((r) => r.id);
        if (!ids.length) break;
        await compareBack(ids);
        after = ids.at(-1)!;
      }
    }
  } else if (opts.members) {
    for (let i = 0; i < opts.members.length; i += pageSize) {
      const wanted = opts.members.slice(i, i + pageSize);
      await comparePage(await opts.facts.byMembers(opts.country, wanted));
      const gone = wanted.filter((id) => !seen.has(id));
      if (gone.length) {
        const migrated = await migratedOf(svc.memberStore.db, opts.source, opts.country, gone);
        await extra(gone.filter((id) => migrated.has(id)));
      }
    }
  } else {
    let cursor: string | null = null;
    do {
      const page = await opts.facts.page(opts.country, cursor, pageSize);
      await comparePage(page.members);
      cursor = page.cursor;
    } while (cursor !== null);
    let after = '';
    for (;;) {
      const migrated = await migratedPage(svc.memberStore.db, opts.source, opts.country, after, 5000);
      if (!migrated.length) break;
      const gone = migrated.filter((m) => !seen.has(m.memberId)).map((m) => m.memberId);
      if (gone.length) await extra(gone);
      after = migrated.at(-1)!.memberId;
    }
  }
  return { status: counts.differences ? 'differences' : 'clean', counts, examples };
}
