import type { MemberFacts } from '../member-facts.ts';

/**
 * What the comparator asks of a source: its members' facts, each derived from the source's
 * own tables by the source's own rules, never through the migration's extract or transform
 * (whose bugs would then agree with themselves). One implementation per source system.
 */
export interface SourceMember {
  /** The member as of the latest horizon of the window. */
  facts: MemberFacts;
  /** The member with the history window starting at `horizon` (an ISO date within the window's range): the one it was migrated with. */
  since(horizon: string): MemberFacts;
  /** The source's key for the member (the customer id, the account's record id). */
  sourceKey: string;
  /** The latest change time among the rows a migration reads, in the source's own clock and format. */
  mark: string;
}

export interface FactsWindow {
  /**
   * The first day of the hot history a migration kept, earliest and latest over the members
   * compared: a `--since-last` run on a later day moves it for the members it reloads only.
   */
  horizons: { earliest: string; latest: string };
  /** Source plan code (the legacy's plan code, Kill Bill's plan name) → Tally plan id. */
  plans: ReadonlyMap<string, string>;
  /**
   * The day a source that keeps scheduled changes (Kill Bill's future events) is read as of,
   * in each member's own zone; today there when not given. A source that stores its current
   * state (the reference legacy) has no use for it.
   */
  asOf?: string;
}

export interface SourceFacts {
  /** Members of a country after `cursor` (the source's key), in key order. */
  page(country: string, cursor: string | null, limit: number): Promise<{ members: SourceMember[]; cursor: string | null }>;
  /** The members of a country with these member ids; ids not found are left out. */
  byMembers(country: string, members: string[]): Promise<SourceMember[]>;
  /** Countries with members, however the source spelled them. */
  countries(): Promise<string[]>;
}

/** The name the comparator's source interface had when the reference legacy was its only source. */
export type LegacyFacts = SourceFacts;
