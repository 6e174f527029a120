/**
 * Where a migration reads from. A source is small: the countries it holds, and its members
 * country by country, a keyset page at a time, each member with all of its rows. A team with
 * another legacy system writes one of these and reuses the rest of the migration.
 */
export interface PageOptions {
  /**
   * Read no invoice issued before this date (and its payments) unless an open process still
   * needs it; count the ones left out instead. A margin of a day or two is the caller's: the
   * transform decides the exact horizon in each member's time zone.
   */
  historySince?: string;
}

export interface MigrationSource<Member> {
  readonly name: string;
  /** Countries with members, as ISO 3166 alpha-2 codes, and how many members each. */
  countries(): Promise<{ country: string; members: number }[]>;
  /**
   * Up to `limit` members of a country after `cursor` (null: from the start), in a stable
   * order, each whole; `cursor` of the result continues after the last one (null: done).
   * Never more than one page is held: a country of any size streams through.
   */
  page(country: string, cursor: string | null, limit: number, opts?: PageOptions): Promise<{ members: Member[]; cursor: string | null }>;
  /**
   * The members of a country with these member ids, each whole, read in one snapshot; ids the
   * source does not have (in that country) are left out. For re-migrating the members of a
   * compare report (`tally migrate --members-from`).
   */
  members(country: string, memberIds: string[], opts?: PageOptions): Promise<Member[]>;
  /**
   * Optional, for `--since-last`: a page of the country's members (the same order and cursor as
   * `page`) with only their change marks, computed cheaply. A mark here may be later than the one
   * `identify` gives a member read whole (it may look at more rows), never earlier: a member
   * whose mark has not moved past the one loaded is then not read at all.
   */
  marks?(country: string, cursor: string | null, limit: number): Promise<{ marks: { memberId: string; mark: string }[]; cursor: string | null }>;
  /** The source's plan codes used by a country's members: each needs a mapping before anything of the country is written. */
  plansInUse(country: string): Promise<string[]>;
  /**
   * What must hold of a country's data before anything of it is written, beyond the plan
   * mapping (a currency Tally does not know, say): thrown as one line naming it.
   */
  preflight?(country: string): Promise<void>;
  close(): Promise<void>;
}
