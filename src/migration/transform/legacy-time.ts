import { Temporal } from 'temporal-polyfill';
import type { IsoDate } from '../../domain/calendar.ts';

/** The legacy wrote every timestamp in its data centre's wall-clock time, without a zone. */
export const legacyClockZone = 'America/Los_Angeles';

// Minutes to add to a legacy wall-clock time to get the wall-clock time in a zone. The two
// zones' offsets change a few times a year, on the hour: the shift is worked out once per
// zone and day (from its first and last hour; hour by hour only on a day where they differ),
// so a history of millions of timestamps costs a few thousand Temporal conversions.
const shiftByHour = new Map<string, number>();
const shiftByDay = new Map<string, number | null>();

function hourShift(hour: string, zone: string): number {
  const key = `${zone}|${hour}`;
  let shift = shiftByHour.get(key);
  if (shift === undefined) {
    // 'compatible': a wall-clock hour the fall-back repeats is read as its first occurrence.
    const legacy = Temporal.PlainDateTime.from(`${hour}:00`).toZonedDateTime(legacyClockZone, { disambiguation: 'compatible' });
    shift = (legacy.withTimeZone(zone).offsetNanoseconds - legacy.offsetNanoseconds) / 60e9;
    shiftByHour.set(key, shift);
  }
  return shift;
}

function shiftMinutes(day: string, hh: string, zone: string): number {
  const key = `${zone}|${day}`;
  let shift = shiftByDay.get(key);
  if (shift === undefined) {
    const first = hourShift(`${day}T00`, zone);
    shift = first === hourShift(`${day}T23`, zone) ? first : null;
    shiftByDay.set(key, shift);
  }
  return shift ?? hourShift(`${day}T${hh}`, zone);
}

/**
 * The calendar date in `zone` of a legacy timestamp ('YYYY-MM-DD HH:MM:SS', Los Angeles
 * wall-clock time): an invoice the legacy stamped 2026-03-09 22:30 was issued on the 10th
 * for a member in Berlin. A date-only value (a period boundary) is a calendar date, not an
 * instant, and is not converted: see `legacyDate`.
 */
export function legacyInstantDate(timestamp: string, zone: string): IsoDate {
  const ts = String(timestamp);
  const hh = ts.slice(11, 13) || '00';
  const minutes = Number(hh) * 60 + Number(ts.slice(14, 16) || 0) + shiftMinutes(ts.slice(0, 10), hh, zone);
  const day = Date.UTC(Number(ts.slice(0, 4)), Number(ts.slice(5, 7)) - 1, Number(ts.slice(8, 10))) + Math.floor(minutes / 1440) * 86_400_000;
  return new Date(day).toISOString().slice(0, 10);
}

/** The date part of a legacy date column (kept as midnight timestamps): a calendar date as it stands. */
export function legacyDate(timestamp: string | null): IsoDate | null {
  return timestamp ? String(timestamp).slice(0, 10) : null;
}
