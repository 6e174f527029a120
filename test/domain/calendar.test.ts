import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Temporal } from 'temporal-polyfill';
import {
  addDays,
  assertTimeZone,
  billingDate,
  businessDate,
  daysBetween,
  eachDay,
  isTimeZone,
  isWeekend,
  localDate,
  parseIsoDate,
  periodEnd,
  startOfDay,
} from '../../src/domain/calendar.ts';
import { isInvalidInput } from '../support/invalid-input.ts';

const HOUR = 3_600_000;

function daysInMonth(y: number, m: number): number {
  return Temporal.PlainYearMonth.from({ year: y, month: m }).daysInMonth;
}

// Anchors across four centuries, including every day-of-month 29–31 and leap days.
const anchorArb = fc
  .date({ min: new Date('1900-01-01T00:00:00Z'), max: new Date('2300-12-31T00:00:00Z'), noInvalidDate: true })
  .map((d) => d.toISOString().slice(0, 10));

test('monthly billing from the 31st clamps to each month end and recovers', () => {
  const anchor = '2026-01-31';
  assert.equal(billingDate(anchor, 'month', 0), '2026-01-31');
  assert.equal(billingDate(anchor, 'month', 1), '2026-02-28');
  assert.equal(billingDate(anchor, 'month', 2), '2026-03-31');
  assert.equal(billingDate(anchor, 'month', 3), '2026-04-30');
  assert.equal(billingDate(anchor, 'month', 11), '2026-12-31');
  assert.equal(billingDate(anchor, 'month', 13), '2027-02-28');
});

test('monthly billing from Jan 31 in a leap year lands on Feb 29', () => {
  assert.equal(billingDate('2028-01-31', 'month', 1), '2028-02-29');
  assert.equal(billingDate('2028-01-30', 'month', 1), '2028-02-29');
  assert.equal(billingDate('2028-01-29', 'month', 1), '2028-02-29');
  assert.equal(billingDate('2028-01-28', 'month', 1), '2028-02-28');
});

test('yearly billing from Feb 29 falls on Feb 28 except in leap years', () => {
  assert.equal(billingDate('2028-02-29', 'year', 1), '2029-02-28');
  assert.equal(billingDate('2028-02-29', 'year', 2), '2030-02-28');
  assert.equal(billingDate('2028-02-29', 'year', 4), '2032-02-29');
  assert.equal(billingDate('2096-02-29', 'year', 4), '2100-02-28');
  assert.equal(billingDate('2026-07-15', 'year', 1), '2027-07-15');
});

test('billingDate refuses a fractional cycle, an unknown period and a bad anchor', () => {
  assert.throws(() => billingDate('2026-01-31', 'month', 1.5), isInvalidInput('cycles', /1\.5/));
  assert.throws(() => billingDate('2026-01-31', 'week' as never, 1), isInvalidInput('period', /"week"/));
  assert.throws(() => billingDate('2026-02-30', 'month', 1), isInvalidInput('anchor', /"2026-02-30" is not a real calendar date/));
});

test('periodEnd is the next date on the anchor schedule, also from a clamped start', () => {
  assert.equal(periodEnd('2026-01-31', '2026-01-31', 'month'), '2026-02-28');
  assert.equal(periodEnd('2026-02-28', '2026-01-31', 'month'), '2026-03-31');
  assert.equal(periodEnd('2026-03-31', '2026-01-31', 'month'), '2026-04-30');
  assert.equal(periodEnd('2026-04-30', '2026-01-31', 'month'), '2026-05-31');
  assert.equal(periodEnd('2026-02-10', '2026-01-31', 'month'), '2026-02-28');
  assert.equal(periodEnd('2029-02-28', '2028-02-29', 'year'), '2030-02-28');
  assert.equal(periodEnd('2031-02-28', '2028-02-29', 'year'), '2032-02-29');
  assert.equal(periodEnd('2031-06-01', '2028-02-29', 'year'), '2032-02-29');
});

test('a period that starts before the anchor (a trial) ends on the anchor', () => {
  assert.equal(periodEnd('2026-01-01', '2026-01-31', 'month'), '2026-01-31');
  assert.equal(periodEnd('2026-01-01', '2026-03-15', 'month'), '2026-03-15');
  assert.equal(periodEnd('2025-06-01', '2026-03-15', 'year'), '2026-03-15');
});

test('parseIsoDate accepts real dates and refuses everything else, naming the value', () => {
  assert.equal(parseIsoDate('2026-01-31', 'date'), '2026-01-31');
  assert.equal(parseIsoDate('2028-02-29', 'date'), '2028-02-29');
  assert.equal(parseIsoDate('2000-02-29', 'date'), '2000-02-29');
  assert.throws(() => parseIsoDate('2026-02-29', 'date'), isInvalidInput('date', /"2026-02-29" is not a real calendar date/));
  assert.throws(() => parseIsoDate('1900-02-29', 'date'), isInvalidInput('date', /not a real calendar date/));
  assert.throws(() => parseIsoDate('2026-02-30', 'date'), isInvalidInput('date', /^date: "2026-02-30" is not a real calendar date$/));
  assert.throws(() => parseIsoDate('2026-13-01', 'date'), isInvalidInput('date', /"2026-13-01" is not a real calendar date/));
  assert.throws(() => parseIsoDate('2026-00-10', 'date'), isInvalidInput('date', /not a real calendar date/));
  assert.throws(() => parseIsoDate('2026-04-31', 'date'), isInvalidInput('date', /not a real calendar date/));
  assert.throws(() => parseIsoDate('2026-1-5', 'date'), isInvalidInput('date', /"2026-1-5" is not a date in the form YYYY-MM-DD/));
  assert.throws(() => parseIsoDate('abc', 'date'), isInvalidInput('date', /"abc"/));
  assert.throws(() => parseIsoDate(20260101, 'date'), isInvalidInput('date', /20260101/));
  assert.throws(() => parseIsoDate('2026-01-31T00:00:00Z', 'date'), isInvalidInput('date'));
  assert.throws(() => parseIsoDate(' 2026-01-31', 'date'), isInvalidInput('date'));
  assert.throws(() => parseIsoDate('２０２６-01-31', 'date'), isInvalidInput('date'));
  assert.throws(() => parseIsoDate(null, 'since'), isInvalidInput('since', /null/));
  assert.throws(() => parseIsoDate(undefined, 'since'), isInvalidInput('since'));
});

test('parseIsoDate takes the Date a YAML parser makes of 2026-01-31, but not a timestamp', () => {
  assert.equal(parseIsoDate(new Date('2026-01-31'), 'date'), '2026-01-31');
  assert.equal(parseIsoDate(new Date(Date.UTC(2028, 1, 29)), 'date'), '2028-02-29');
  assert.equal(parseIsoDate(new Date('1969-12-31'), 'date'), '1969-12-31');
  assert.throws(() => parseIsoDate(new Date('2026-01-31T05:00:00Z'), 'date'), isInvalidInput('date', /2026-01-31T05:00:00.000Z/));
  assert.throws(() => parseIsoDate(new Date('nonsense'), 'date'), isInvalidInput('date', /Invalid Date/));
});

test('addDays and daysBetween cross month, year and leap-day boundaries', () => {
  assert.equal(addDays('2026-01-31', 1), '2026-02-01');
  assert.equal(addDays('2028-02-28', 1), '2028-02-29');
  assert.equal(addDays('2026-02-28', 1), '2026-03-01');
  assert.equal(addDays('2026-12-31', 1), '2027-01-01');
  assert.equal(addDays('2026-01-01', -1), '2025-12-31');
  assert.equal(addDays('2026-01-01', 30), '2026-01-31');
  assert.equal(addDays('2026-01-01', 0), '2026-01-01');
  assert.equal(daysBetween('2026-01-01', '2027-01-01'), 365);
  assert.equal(daysBetween('2028-01-01', '2029-01-01'), 366);
  assert.equal(daysBetween('2026-03-01', '2026-02-01'), -28);
  assert.equal(daysBetween('1970-01-01', '2026-01-01'), 20454);
  assert.throws(() => addDays('2026-01-01', 0.5), isInvalidInput('days'));
  assert.throws(() => addDays('2026-02-30', 1), isInvalidInput('date'));
  assert.throws(() => addDays('9999-12-31', 1), isInvalidInput('days'));
  assert.throws(() => daysBetween('2026-01-01', 'soon'), isInvalidInput('to'));
});

test('property: addDays agrees with Temporal and daysBetween inverts it', () => {
  fc.assert(
    fc.property(anchorArb, fc.integer({ min: -100_000, max: 100_000 }), (date, n) => {
      const later = addDays(date, n);
      assert.equal(later, Temporal.PlainDate.from(date).add({ days: n }).toString());
      assert.equal(daysBetween(date, later), n);
      assert.equal(addDays(later, -n), date);
    }),
  );
});

test('property: monthly billing day is min(anchor day, days in month) and strictly increases', () => {
  fc.assert(
    fc.property(anchorArb, fc.integer({ min: 0, max: 600 }), (anchor, n) => {
      const date = billingDate(anchor, 'month', n);
      const next = billingDate(anchor, 'month', n + 1);
      const [y, m] = date.split('-').map(Number) as [number, number];
      const anchorDay = Number(anchor.slice(8));
      assert.equal(Number(date.slice(8)), Math.min(anchorDay, daysInMonth(y, m)));
      const expectedMonth = Temporal.PlainDate.from(anchor).toPlainYearMonth().add({ months: n });
      assert.equal(date.slice(0, 7), expectedMonth.toString());
      assert.ok(next > date, `${next} > ${date}`);
      assert.equal(parseIsoDate(date, 'date'), date);
    }),
  );
});

test('property: periodEnd of a billing date is the next billing date', () => {
  fc.assert(
    fc.property(anchorArb, fc.constantFrom('month' as const, 'year' as const), fc.integer({ min: 0, max: 300 }), (anchor, period, n) => {
      assert.equal(periodEnd(billingDate(anchor, period, n), anchor, period), billingDate(anchor, period, n + 1));
    }),
  );
});

test('property: periodEnd of any day is the smallest later billing date', () => {
  fc.assert(
    fc.property(anchorArb, fc.constantFrom('month' as const, 'year' as const), fc.integer({ min: -400, max: 4000 }), (anchor, period, offset) => {
      const start = addDays(anchor, offset);
      const end = periodEnd(start, anchor, period);
      assert.ok(end > start);
      let n = 0;
      while (billingDate(anchor, period, n) <= start) n++;
      assert.equal(end, billingDate(anchor, period, n));
    }),
  );
});

test('localDate gives the calendar date in the given zone', () => {
  // 2026-02-01 07:30 UTC: still Jan 31 in Los Angeles (UTC−8), already Feb 1 in Tokyo (UTC+9).
  const instant = Date.UTC(2026, 1, 1, 7, 30);
  assert.equal(localDate(instant, 'America/Los_Angeles'), '2026-01-31');
  assert.equal(localDate(new Date(instant), 'Asia/Tokyo'), '2026-02-01');
  assert.equal(localDate(instant, 'UTC'), '2026-02-01');
  // Half-hour and quarter-hour offsets.
  assert.equal(localDate(Date.UTC(2026, 0, 31, 18, 29), 'Asia/Kolkata'), '2026-01-31');
  assert.equal(localDate(Date.UTC(2026, 0, 31, 18, 30), 'Asia/Kolkata'), '2026-02-01');
  assert.equal(localDate(Date.UTC(2026, 0, 31, 18, 14), 'Asia/Kathmandu'), '2026-01-31');
  assert.equal(localDate(Date.UTC(2026, 0, 31, 18, 15), 'Asia/Kathmandu'), '2026-02-01');
  assert.throws(() => localDate(instant, 'Mars/Olympus_Mons'), isInvalidInput('timeZone', /"Mars\/Olympus_Mons"/));
  assert.throws(() => localDate(Number.NaN, 'UTC'), isInvalidInput('instant'));
  assert.throws(() => localDate(new Date('nonsense'), 'UTC'), isInvalidInput('instant'));
});

test('property: localDate agrees with Temporal in many zones', () => {
  const zones = ['UTC', 'America/Los_Angeles', 'America/St_Johns', 'Europe/London', 'Europe/Berlin', 'Asia/Tokyo', 'Asia/Kolkata', 'Australia/Lord_Howe', 'Pacific/Kiritimati', 'Pacific/Pago_Pago', 'America/Sao_Paulo'];
  fc.assert(
    fc.property(fc.integer({ min: Date.UTC(1950, 0, 1), max: Date.UTC(2100, 0, 1) }), fc.constantFrom(...zones), (ms, tz) => {
      const expected = Temporal.Instant.fromEpochMilliseconds(ms).toZonedDateTimeISO(tz).toPlainDate().toString();
      assert.equal(localDate(ms, tz), expected);
    }),
  );
});

test('businessDate books an instant on the reporting zone day, not the member zone day', () => {
  // 23:30 on Jan 31 in New York is already Feb 1 in UTC and in Berlin.
  const payment = Date.UTC(2026, 1, 1, 4, 30);
  assert.equal(localDate(payment, 'America/New_York'), '2026-01-31');
  assert.equal(businessDate(payment, 'UTC'), '2026-02-01');
  assert.equal(businessDate(payment, 'Europe/Berlin'), '2026-02-01');
  assert.equal(businessDate(payment, 'America/Los_Angeles'), '2026-01-31');
  assert.throws(() => businessDate(payment, 'Nowhere'), isInvalidInput('reportingTimeZone', /"Nowhere"/));
});

test('time zones: IANA names pass, offsets and nonsense do not', () => {
  assert.equal(isTimeZone('Europe/Amsterdam'), true);
  assert.equal(isTimeZone('UTC'), true);
  assert.equal(isTimeZone('America/Argentina/Buenos_Aires'), true);
  assert.equal(isTimeZone('Mars/Olympus_Mons'), false);
  assert.equal(isTimeZone(''), false);
  assert.equal(isTimeZone('+05:00'), false);
  assert.equal(isTimeZone('-0800'), false);
  assert.equal(isTimeZone(42 as never), false);
  assert.equal(assertTimeZone('Asia/Tokyo', 'timezone'), 'Asia/Tokyo');
  assert.throws(() => assertTimeZone('Asia/Atlantis', 'timezone'), isInvalidInput('timezone', /^timezone: "Asia\/Atlantis" is not an IANA time zone$/));
  assert.throws(() => assertTimeZone(undefined, 'timezone'), isInvalidInput('timezone'));
  assert.throws(() => assertTimeZone({}, 'timezone'), isInvalidInput('timezone'));
});

test('startOfDay is local midnight, also on daylight-saving days', () => {
  // US spring forward 2026-03-08 at 02:00: the day is 23 hours long.
  const march8 = startOfDay('2026-03-08', 'America/New_York');
  assert.equal(march8, Date.UTC(2026, 2, 8, 5));
  assert.equal(startOfDay('2026-03-09', 'America/New_York') - march8, 23 * HOUR);
  // US fall back 2026-11-01: 25 hours long.
  assert.equal(startOfDay('2026-11-02', 'America/New_York') - startOfDay('2026-11-01', 'America/New_York'), 25 * HOUR);
  assert.equal(startOfDay('2026-01-31', 'Asia/Tokyo'), Date.UTC(2026, 0, 30, 15));
  // Brazil once moved clocks forward at midnight: 2018-11-04 began at 01:00 local (UTC−2).
  assert.equal(startOfDay('2018-11-04', 'America/Sao_Paulo'), Date.UTC(2018, 10, 4, 3));
  assert.equal(localDate(startOfDay('2018-11-04', 'America/Sao_Paulo'), 'America/Sao_Paulo'), '2018-11-04');
  assert.equal(localDate(startOfDay('2018-11-04', 'America/Sao_Paulo') - 1, 'America/Sao_Paulo'), '2018-11-03');
  assert.throws(() => startOfDay('2026-02-30', 'UTC'), isInvalidInput('date'));
  assert.throws(() => startOfDay('2026-02-01', 'Moon/Base'), isInvalidInput('timeZone'));
});

test('eachDay lists every date, both ends included', () => {
  assert.deepEqual(eachDay('2028-02-27', '2028-03-01'), ['2028-02-27', '2028-02-28', '2028-02-29', '2028-03-01']);
  assert.deepEqual(eachDay('2026-12-31', '2027-01-01'), ['2026-12-31', '2027-01-01']);
  assert.deepEqual(eachDay('2026-01-05', '2026-01-05'), ['2026-01-05']);
  assert.deepEqual(eachDay('2026-01-05', '2026-01-04'), []);
  assert.equal(eachDay('2026-01-01', '2026-12-31').length, 365);
});

test('isWeekend', () => {
  assert.equal(isWeekend('2026-01-31'), true); // Saturday
  assert.equal(isWeekend('2026-02-01'), true); // Sunday
  assert.equal(isWeekend('2026-02-02'), false); // Monday
  assert.equal(isWeekend('2026-02-06'), false); // Friday
  assert.equal(isWeekend('1969-12-28'), true); // Sunday, before the epoch
  fc.assert(
    fc.property(anchorArb, (date) => {
      assert.equal(isWeekend(date), Temporal.PlainDate.from(date).dayOfWeek >= 6);
    }),
  );
});
