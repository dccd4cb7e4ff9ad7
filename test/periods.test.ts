/**
 * Period math (DESIGN.md §2 "Period rules"): boundaries for every rule across DST changes in both
 * hemispheres, 29/30/31-day months, leap days, zones east and west of UTC, exact boundaries and
 * far-away indexes in periodAt, and calendar-day counting in daysLeft.
 *
 * Every expected instant below is written out by hand (local wall time → UTC offset of that date);
 * none is computed with luxon or with the module under test.
 */
import { describe, expect, it } from 'vitest';
import type { PeriodRule } from '../src/catalog/schema.js';
import { daysLeft, periodAt, periodByIndex, zonedIso } from '../src/periods/periods.js';

/** One millisecond before an ISO instant (plain epoch arithmetic, no calendar involved). */
function justBefore(iso: string): Date {
  return new Date(Date.parse(iso) - 1);
}

interface Span {
  index: number;
  start: string;
  end: string;
}

/** Cases keyed by a full, untruncated test title (vitest shortens `$name` to 40 characters). */
function titled<T>(cases: T[], title: (entry: T) => string): [string, T][] {
  return cases.map((entry) => [title(entry), entry]);
}

function span(period: { index: number; start: Date; end: Date }): Span {
  return { index: period.index, start: period.start.toISOString(), end: period.end.toISOString() };
}

/**
 * A run of consecutive boundaries, written by hand, of the periods of one account: boundaries[i] is
 * the start of period i and the end of period i - 1.
 */
interface Chain {
  name: string;
  rule: PeriodRule;
  zone: string;
  anchor: string;
  boundaries: string[];
}

const CHAINS: Chain[] = [
  // --- DST: calendar-month boundaries at local midnight -----------------------------------------
  {
    name: 'New York calendar month across spring forward (EST -5 → EDT -4 on 2026-03-08)',
    rule: { rule: 'calendar_month', dayOfMonth: 1 },
    zone: 'America/New_York',
    anchor: '2026-02-15T12:00:00.000Z',
    boundaries: ['2026-02-01T05:00:00.000Z', '2026-03-01T05:00:00.000Z', '2026-04-01T04:00:00.000Z', '2026-05-01T04:00:00.000Z'],
  },
  {
    name: 'New York calendar month across fall back (EDT → EST on 2026-11-01 at 02:00, after midnight)',
    rule: { rule: 'calendar_month', dayOfMonth: 1 },
    zone: 'America/New_York',
    anchor: '2026-10-15T12:00:00.000Z',
    boundaries: ['2026-10-01T04:00:00.000Z', '2026-11-01T04:00:00.000Z', '2026-12-01T05:00:00.000Z', '2027-01-01T05:00:00.000Z'],
  },
  {
    name: 'Berlin calendar month across spring forward (CET +1 → CEST +2 on 2026-03-29)',
    rule: { rule: 'calendar_month', dayOfMonth: 1 },
    zone: 'Europe/Berlin',
    anchor: '2026-03-10T12:00:00.000Z',
    boundaries: ['2026-02-28T23:00:00.000Z', '2026-03-31T22:00:00.000Z', '2026-04-30T22:00:00.000Z'],
  },
  {
    name: 'Berlin calendar month across fall back (CEST → CET on 2026-10-25)',
    rule: { rule: 'calendar_month', dayOfMonth: 1 },
    zone: 'Europe/Berlin',
    anchor: '2026-10-10T12:00:00.000Z',
    boundaries: ['2026-09-30T22:00:00.000Z', '2026-10-31T23:00:00.000Z', '2026-11-30T23:00:00.000Z'],
  },
  {
    name: 'Berlin calendar month on the 29th: clamped to Feb 28, then the 23h day 2026-03-29 itself',
    rule: { rule: 'calendar_month', dayOfMonth: 29 },
    zone: 'Europe/Berlin',
    anchor: '2026-03-01T12:00:00.000Z',
    boundaries: ['2026-02-27T23:00:00.000Z', '2026-03-28T23:00:00.000Z', '2026-04-28T22:00:00.000Z'],
  },
  {
    name: 'Berlin calendar month on the 25th: the 25h day 2026-10-25 itself (still CEST at midnight)',
    rule: { rule: 'calendar_month', dayOfMonth: 25 },
    zone: 'Europe/Berlin',
    anchor: '2026-10-01T12:00:00.000Z',
    boundaries: ['2026-09-24T22:00:00.000Z', '2026-10-24T22:00:00.000Z', '2026-11-24T23:00:00.000Z'],
  },
  {
    name: 'Sydney calendar month across fall back (AEDT +11 → AEST +10 on 2026-04-05)',
    rule: { rule: 'calendar_month', dayOfMonth: 1 },
    zone: 'Australia/Sydney',
    anchor: '2026-03-15T00:00:00.000Z',
    boundaries: ['2026-02-28T13:00:00.000Z', '2026-03-31T13:00:00.000Z', '2026-04-30T14:00:00.000Z'],
  },
  {
    name: 'Sydney calendar month across spring forward (AEST +10 → AEDT +11 on 2026-10-04)',
    rule: { rule: 'calendar_month', dayOfMonth: 1 },
    zone: 'Australia/Sydney',
    anchor: '2026-09-15T00:00:00.000Z',
    boundaries: ['2026-08-31T14:00:00.000Z', '2026-09-30T14:00:00.000Z', '2026-10-31T13:00:00.000Z'],
  },

  // --- DST: every N days keeps the local wall time, so the UTC instant moves by an hour ----------
  {
    name: 'New York daily at 09:30 across spring forward',
    rule: { rule: 'every_n_days', days: 1 },
    zone: 'America/New_York',
    anchor: '2026-03-06T14:30:00.000Z',
    boundaries: ['2026-03-06T14:30:00.000Z', '2026-03-07T14:30:00.000Z', '2026-03-08T13:30:00.000Z', '2026-03-09T13:30:00.000Z'],
  },
  {
    name: 'New York weekly at 09:30 across fall back',
    rule: { rule: 'every_n_days', days: 7 },
    zone: 'America/New_York',
    anchor: '2026-10-28T13:30:00.000Z',
    boundaries: ['2026-10-28T13:30:00.000Z', '2026-11-04T14:30:00.000Z', '2026-11-11T14:30:00.000Z'],
  },
  {
    name: 'New York daily at 02:30, a wall time that does not exist on 2026-03-08 (moved to 03:30 EDT that day only)',
    rule: { rule: 'every_n_days', days: 1 },
    zone: 'America/New_York',
    anchor: '2026-03-07T07:30:00.000Z',
    boundaries: ['2026-03-07T07:30:00.000Z', '2026-03-08T07:30:00.000Z', '2026-03-09T06:30:00.000Z'],
  },
  {
    name: 'New York daily at 01:30, a wall time that happens twice on 2026-11-01 (the first, EDT, one)',
    rule: { rule: 'every_n_days', days: 1 },
    zone: 'America/New_York',
    anchor: '2026-10-31T05:30:00.000Z',
    boundaries: ['2026-10-31T05:30:00.000Z', '2026-11-01T05:30:00.000Z', '2026-11-02T06:30:00.000Z'],
  },
  {
    name: 'Berlin every 3 days at 09:00 across spring forward',
    rule: { rule: 'every_n_days', days: 3 },
    zone: 'Europe/Berlin',
    anchor: '2026-03-27T08:00:00.000Z',
    boundaries: ['2026-03-27T08:00:00.000Z', '2026-03-30T07:00:00.000Z', '2026-04-02T07:00:00.000Z'],
  },
  {
    name: 'Berlin daily at 09:00 across fall back',
    rule: { rule: 'every_n_days', days: 1 },
    zone: 'Europe/Berlin',
    anchor: '2026-10-24T07:00:00.000Z',
    boundaries: ['2026-10-24T07:00:00.000Z', '2026-10-25T08:00:00.000Z', '2026-10-26T08:00:00.000Z'],
  },
  {
    name: 'Sydney daily at 10:00 across fall back (April)',
    rule: { rule: 'every_n_days', days: 1 },
    zone: 'Australia/Sydney',
    anchor: '2026-04-03T23:00:00.000Z',
    boundaries: ['2026-04-03T23:00:00.000Z', '2026-04-05T00:00:00.000Z', '2026-04-06T00:00:00.000Z'],
  },
  {
    name: 'Sydney every 2 days at 06:00 across spring forward (October)',
    rule: { rule: 'every_n_days', days: 2 },
    zone: 'Australia/Sydney',
    anchor: '2026-10-02T20:00:00.000Z',
    boundaries: ['2026-10-02T20:00:00.000Z', '2026-10-04T19:00:00.000Z', '2026-10-06T19:00:00.000Z'],
  },
  {
    name: 'New York P1D duration keeps the wall time like every_n_days',
    rule: { rule: 'duration', duration: 'P1D' },
    zone: 'America/New_York',
    anchor: '2026-03-07T14:30:00.000Z',
    boundaries: ['2026-03-07T14:30:00.000Z', '2026-03-08T13:30:00.000Z', '2026-03-09T13:30:00.000Z'],
  },
  {
    name: 'New York PT24H duration is exact elapsed time, so it does not keep the wall time',
    rule: { rule: 'duration', duration: 'PT24H' },
    zone: 'America/New_York',
    anchor: '2026-03-07T14:30:00.000Z',
    boundaries: ['2026-03-07T14:30:00.000Z', '2026-03-08T14:30:00.000Z', '2026-03-09T14:30:00.000Z'],
  },
  {
    name: 'anniversary month in New York at 10:00 local across spring forward',
    rule: { rule: 'anniversary_months', months: 1 },
    zone: 'America/New_York',
    anchor: '2026-01-31T15:00:00.000Z',
    boundaries: ['2026-01-31T15:00:00.000Z', '2026-02-28T15:00:00.000Z', '2026-03-31T14:00:00.000Z', '2026-04-30T14:00:00.000Z'],
  },

  // --- 29/30/31-day months -----------------------------------------------------------------------
  {
    name: 'calendar month on the 31st (UTC), clamped to Feb 28 and to 30-day months, back to the 31st after',
    rule: { rule: 'calendar_month', dayOfMonth: 31 },
    zone: 'UTC',
    anchor: '2026-01-15T12:00:00.000Z',
    boundaries: [
      '2025-12-31T00:00:00.000Z',
      '2026-01-31T00:00:00.000Z',
      '2026-02-28T00:00:00.000Z',
      '2026-03-31T00:00:00.000Z',
      '2026-04-30T00:00:00.000Z',
      '2026-05-31T00:00:00.000Z',
      '2026-06-30T00:00:00.000Z',
      '2026-07-31T00:00:00.000Z',
      '2026-08-31T00:00:00.000Z',
      '2026-09-30T00:00:00.000Z',
    ],
  },
  {
    name: 'calendar month on the 30th (UTC), clamped in February only',
    rule: { rule: 'calendar_month', dayOfMonth: 30 },
    zone: 'UTC',
    anchor: '2026-02-10T00:00:00.000Z',
    boundaries: ['2026-01-30T00:00:00.000Z', '2026-02-28T00:00:00.000Z', '2026-03-30T00:00:00.000Z', '2026-04-30T00:00:00.000Z', '2026-05-30T00:00:00.000Z'],
  },
  {
    name: 'calendar month on the 30th anchored on the clamped renewal day (Feb 28) itself',
    rule: { rule: 'calendar_month', dayOfMonth: 30 },
    zone: 'UTC',
    anchor: '2026-02-28T12:00:00.000Z',
    boundaries: ['2026-02-28T00:00:00.000Z', '2026-03-30T00:00:00.000Z', '2026-04-30T00:00:00.000Z'],
  },
  {
    name: 'calendar month on the 31st in Tokyo (+9): local midnights are 15:00 UTC the day before',
    rule: { rule: 'calendar_month', dayOfMonth: 31 },
    zone: 'Asia/Tokyo',
    anchor: '2026-02-10T00:00:00.000Z',
    boundaries: ['2026-01-30T15:00:00.000Z', '2026-02-27T15:00:00.000Z', '2026-03-30T15:00:00.000Z', '2026-04-29T15:00:00.000Z', '2026-05-30T15:00:00.000Z'],
  },
  {
    name: 'calendar month on the 31st in Berlin, across both DST changes',
    rule: { rule: 'calendar_month', dayOfMonth: 31 },
    zone: 'Europe/Berlin',
    anchor: '2026-02-10T00:00:00.000Z',
    boundaries: [
      '2026-01-30T23:00:00.000Z',
      '2026-02-27T23:00:00.000Z',
      '2026-03-30T22:00:00.000Z',
      '2026-04-29T22:00:00.000Z',
      '2026-05-30T22:00:00.000Z',
      '2026-06-29T22:00:00.000Z',
      '2026-07-30T22:00:00.000Z',
      '2026-08-30T22:00:00.000Z',
      '2026-09-29T22:00:00.000Z',
      '2026-10-30T23:00:00.000Z',
      '2026-11-29T23:00:00.000Z',
      '2026-12-30T23:00:00.000Z',
    ],
  },
  {
    name: 'anniversary month from Jan 31 over a year: never drifts to the 28th',
    rule: { rule: 'anniversary_months', months: 1 },
    zone: 'UTC',
    anchor: '2026-01-31T10:00:00.000Z',
    boundaries: [
      '2026-01-31T10:00:00.000Z',
      '2026-02-28T10:00:00.000Z',
      '2026-03-31T10:00:00.000Z',
      '2026-04-30T10:00:00.000Z',
      '2026-05-31T10:00:00.000Z',
      '2026-06-30T10:00:00.000Z',
      '2026-07-31T10:00:00.000Z',
      '2026-08-31T10:00:00.000Z',
      '2026-09-30T10:00:00.000Z',
      '2026-10-31T10:00:00.000Z',
      '2026-11-30T10:00:00.000Z',
      '2026-12-31T10:00:00.000Z',
      '2027-01-31T10:00:00.000Z',
      '2027-02-28T10:00:00.000Z',
    ],
  },
  {
    name: 'anniversary month from Aug 31 over a year, through the leap February 2028',
    rule: { rule: 'anniversary_months', months: 1 },
    zone: 'UTC',
    anchor: '2027-08-31T10:00:00.000Z',
    boundaries: [
      '2027-08-31T10:00:00.000Z',
      '2027-09-30T10:00:00.000Z',
      '2027-10-31T10:00:00.000Z',
      '2027-11-30T10:00:00.000Z',
      '2027-12-31T10:00:00.000Z',
      '2028-01-31T10:00:00.000Z',
      '2028-02-29T10:00:00.000Z',
      '2028-03-31T10:00:00.000Z',
      '2028-04-30T10:00:00.000Z',
      '2028-05-31T10:00:00.000Z',
      '2028-06-30T10:00:00.000Z',
      '2028-07-31T10:00:00.000Z',
      '2028-08-31T10:00:00.000Z',
    ],
  },
  {
    name: 'quarterly anniversary from Nov 30',
    rule: { rule: 'anniversary_months', months: 3 },
    zone: 'UTC',
    anchor: '2026-11-30T08:00:00.000Z',
    boundaries: ['2026-11-30T08:00:00.000Z', '2027-02-28T08:00:00.000Z', '2027-05-30T08:00:00.000Z', '2027-08-30T08:00:00.000Z', '2027-11-30T08:00:00.000Z'],
  },

  // --- Leap days -----------------------------------------------------------------------------------
  {
    name: 'anniversary month anchored on 2028-02-29',
    rule: { rule: 'anniversary_months', months: 1 },
    zone: 'UTC',
    anchor: '2028-02-29T12:00:00.000Z',
    boundaries: [
      '2028-02-29T12:00:00.000Z',
      '2028-03-29T12:00:00.000Z',
      '2028-04-29T12:00:00.000Z',
      '2028-05-29T12:00:00.000Z',
      '2028-06-29T12:00:00.000Z',
      '2028-07-29T12:00:00.000Z',
      '2028-08-29T12:00:00.000Z',
      '2028-09-29T12:00:00.000Z',
      '2028-10-29T12:00:00.000Z',
      '2028-11-29T12:00:00.000Z',
      '2028-12-29T12:00:00.000Z',
      '2029-01-29T12:00:00.000Z',
      '2029-02-28T12:00:00.000Z',
      '2029-03-29T12:00:00.000Z',
    ],
  },
  {
    name: 'yearly anniversary (12 months) anchored on 2028-02-29: Feb 28 in common years, Feb 29 again in 2032',
    rule: { rule: 'anniversary_months', months: 12 },
    zone: 'UTC',
    anchor: '2028-02-29T12:00:00.000Z',
    boundaries: [
      '2028-02-29T12:00:00.000Z',
      '2029-02-28T12:00:00.000Z',
      '2030-02-28T12:00:00.000Z',
      '2031-02-28T12:00:00.000Z',
      '2032-02-29T12:00:00.000Z',
      '2033-02-28T12:00:00.000Z',
    ],
  },
  {
    name: 'P1Y duration anchored on 2028-02-29 behaves like 12 anniversary months',
    rule: { rule: 'duration', duration: 'P1Y' },
    zone: 'UTC',
    anchor: '2028-02-29T12:00:00.000Z',
    boundaries: ['2028-02-29T12:00:00.000Z', '2029-02-28T12:00:00.000Z', '2030-02-28T12:00:00.000Z', '2031-02-28T12:00:00.000Z', '2032-02-29T12:00:00.000Z'],
  },
  {
    name: 'yearly anniversary anchored on 2028-02-29 in Auckland (2028-02-29 00:30 NZDT is still Feb 28 in UTC)',
    rule: { rule: 'anniversary_months', months: 12 },
    zone: 'Pacific/Auckland',
    anchor: '2028-02-28T11:30:00.000Z',
    boundaries: ['2028-02-28T11:30:00.000Z', '2029-02-27T11:30:00.000Z', '2030-02-27T11:30:00.000Z', '2031-02-27T11:30:00.000Z', '2032-02-28T11:30:00.000Z'],
  },
  {
    name: 'calendar month through leap February 2028 (29 days)',
    rule: { rule: 'calendar_month', dayOfMonth: 1 },
    zone: 'UTC',
    anchor: '2028-02-15T00:00:00.000Z',
    boundaries: ['2028-02-01T00:00:00.000Z', '2028-03-01T00:00:00.000Z', '2028-04-01T00:00:00.000Z'],
  },
  {
    name: 'calendar month through common February 2027 (28 days)',
    rule: { rule: 'calendar_month', dayOfMonth: 1 },
    zone: 'UTC',
    anchor: '2027-02-15T00:00:00.000Z',
    boundaries: ['2027-02-01T00:00:00.000Z', '2027-03-01T00:00:00.000Z', '2027-04-01T00:00:00.000Z'],
  },
  {
    name: 'calendar month on the 29th in leap 2028: Feb 29 is a renewal day',
    rule: { rule: 'calendar_month', dayOfMonth: 29 },
    zone: 'UTC',
    anchor: '2028-02-15T00:00:00.000Z',
    boundaries: ['2028-01-29T00:00:00.000Z', '2028-02-29T00:00:00.000Z', '2028-03-29T00:00:00.000Z'],
  },
  {
    name: 'calendar month on the 29th in common 2027: clamped to Feb 28',
    rule: { rule: 'calendar_month', dayOfMonth: 29 },
    zone: 'UTC',
    anchor: '2027-02-15T00:00:00.000Z',
    boundaries: ['2027-01-29T00:00:00.000Z', '2027-02-28T00:00:00.000Z', '2027-03-29T00:00:00.000Z'],
  },
  {
    name: 'daily across Feb 29 2028',
    rule: { rule: 'every_n_days', days: 1 },
    zone: 'UTC',
    anchor: '2028-02-28T09:00:00.000Z',
    boundaries: ['2028-02-28T09:00:00.000Z', '2028-02-29T09:00:00.000Z', '2028-03-01T09:00:00.000Z'],
  },
  {
    name: 'every 30 days across Feb 29 2028',
    rule: { rule: 'every_n_days', days: 30 },
    zone: 'UTC',
    anchor: '2028-02-01T09:00:00.000Z',
    boundaries: ['2028-02-01T09:00:00.000Z', '2028-03-02T09:00:00.000Z', '2028-04-01T09:00:00.000Z'],
  },
  {
    name: 'every 30 days across common February 2027',
    rule: { rule: 'every_n_days', days: 30 },
    zone: 'UTC',
    anchor: '2027-02-01T09:00:00.000Z',
    boundaries: ['2027-02-01T09:00:00.000Z', '2027-03-03T09:00:00.000Z', '2027-04-02T09:00:00.000Z'],
  },
  {
    name: 'every 365 days from 2027-03-01 lands on Feb 29 2028',
    rule: { rule: 'every_n_days', days: 365 },
    zone: 'UTC',
    anchor: '2027-03-01T00:00:00.000Z',
    boundaries: ['2027-03-01T00:00:00.000Z', '2028-02-29T00:00:00.000Z', '2029-02-28T00:00:00.000Z'],
  },

  // --- Time zones east and west of UTC -------------------------------------------------------------
  {
    name: 'Tokyo (+9): midnight of the 1st is 15:00 UTC on the last day of the previous month',
    rule: { rule: 'calendar_month', dayOfMonth: 1 },
    zone: 'Asia/Tokyo',
    anchor: '2026-05-31T16:00:00.000Z',
    boundaries: ['2026-05-31T15:00:00.000Z', '2026-06-30T15:00:00.000Z', '2026-07-31T15:00:00.000Z'],
  },
  {
    name: 'Tokyo (+9): 23:59:59.999 local on May 31 is still in May',
    rule: { rule: 'calendar_month', dayOfMonth: 1 },
    zone: 'Asia/Tokyo',
    anchor: '2026-05-31T14:59:59.999Z',
    boundaries: ['2026-04-30T15:00:00.000Z', '2026-05-31T15:00:00.000Z'],
  },
  {
    name: 'Auckland (+13 NZDT → +12 NZST on 2026-04-05)',
    rule: { rule: 'calendar_month', dayOfMonth: 1 },
    zone: 'Pacific/Auckland',
    anchor: '2026-03-15T00:00:00.000Z',
    boundaries: ['2026-02-28T11:00:00.000Z', '2026-03-31T11:00:00.000Z', '2026-04-30T12:00:00.000Z'],
  },
  {
    name: 'Auckland (+12 NZST → +13 NZDT on 2026-09-27) and New Year',
    rule: { rule: 'calendar_month', dayOfMonth: 1 },
    zone: 'Pacific/Auckland',
    anchor: '2026-09-15T00:00:00.000Z',
    boundaries: ['2026-08-31T12:00:00.000Z', '2026-09-30T11:00:00.000Z', '2026-10-31T11:00:00.000Z', '2026-11-30T11:00:00.000Z', '2026-12-31T11:00:00.000Z'],
  },
  {
    name: 'Kolkata (+5:30): half-hour offset',
    rule: { rule: 'calendar_month', dayOfMonth: 1 },
    zone: 'Asia/Kolkata',
    anchor: '2026-07-10T00:00:00.000Z',
    boundaries: ['2026-06-30T18:30:00.000Z', '2026-07-31T18:30:00.000Z', '2026-08-31T18:30:00.000Z'],
  },
  {
    name: 'Kolkata (+5:30) every 30 days at 09:00 local',
    rule: { rule: 'every_n_days', days: 30 },
    zone: 'Asia/Kolkata',
    anchor: '2026-07-10T03:30:00.000Z',
    boundaries: ['2026-07-10T03:30:00.000Z', '2026-08-09T03:30:00.000Z', '2026-09-08T03:30:00.000Z'],
  },
  {
    name: 'Kiritimati (+14): midnight of Jan 1 is 10:00 UTC on Dec 31',
    rule: { rule: 'calendar_month', dayOfMonth: 1 },
    zone: 'Pacific/Kiritimati',
    anchor: '2026-12-31T10:00:00.000Z',
    boundaries: ['2026-12-31T10:00:00.000Z', '2027-01-31T10:00:00.000Z'],
  },
  {
    name: 'Los Angeles (PST -8 → PDT -7 on 2026-03-08)',
    rule: { rule: 'calendar_month', dayOfMonth: 1 },
    zone: 'America/Los_Angeles',
    anchor: '2026-03-15T12:00:00.000Z',
    boundaries: ['2026-03-01T08:00:00.000Z', '2026-04-01T07:00:00.000Z', '2026-05-01T07:00:00.000Z'],
  },
  {
    name: 'Los Angeles: 2026-03-01T07:59:59.999Z is already March in UTC but still Feb 28 locally',
    rule: { rule: 'calendar_month', dayOfMonth: 1 },
    zone: 'America/Los_Angeles',
    anchor: '2026-03-01T07:59:59.999Z',
    boundaries: ['2026-02-01T08:00:00.000Z', '2026-03-01T08:00:00.000Z'],
  },
  {
    name: 'Honolulu (-10, no DST) renewing on the 15th',
    rule: { rule: 'calendar_month', dayOfMonth: 15 },
    zone: 'Pacific/Honolulu',
    anchor: '2026-01-20T00:00:00.000Z',
    boundaries: ['2026-01-15T10:00:00.000Z', '2026-02-15T10:00:00.000Z', '2026-03-15T10:00:00.000Z', '2026-04-15T10:00:00.000Z'],
  },
  {
    name: 'Honolulu: 09:59:59.999Z on the 15th is still the 14th locally',
    rule: { rule: 'calendar_month', dayOfMonth: 15 },
    zone: 'Pacific/Honolulu',
    anchor: '2026-01-15T09:59:59.999Z',
    boundaries: ['2025-12-15T10:00:00.000Z', '2026-01-15T10:00:00.000Z'],
  },
  {
    name: 'Honolulu every 7 days at 18:00 local (04:00 UTC the next day)',
    rule: { rule: 'every_n_days', days: 7 },
    zone: 'Pacific/Honolulu',
    anchor: '2026-02-27T04:00:00.000Z',
    boundaries: ['2026-02-27T04:00:00.000Z', '2026-03-06T04:00:00.000Z', '2026-03-13T04:00:00.000Z'],
  },

  // --- A month whose local midnight of the 1st does not exist --------------------------------------
  {
    // Paraguay moved clocks from 00:00 (-04) to 01:00 (-03) on 2023-10-01, so October 1 starts at
    // 01:00 local (04:00 UTC); November and December 1 start at a normal 00:00 -03 (03:00 UTC).
    name: 'Asuncion anchored in a month whose 1st has no midnight: later months still start at 00:00',
    rule: { rule: 'calendar_month', dayOfMonth: 1 },
    zone: 'America/Asuncion',
    anchor: '2023-10-15T12:00:00.000Z',
    boundaries: ['2023-10-01T04:00:00.000Z', '2023-11-01T03:00:00.000Z', '2023-12-01T03:00:00.000Z', '2024-01-01T03:00:00.000Z'],
  },
  {
    name: 'Asuncion anchored the month before: the same boundaries',
    rule: { rule: 'calendar_month', dayOfMonth: 1 },
    zone: 'America/Asuncion',
    anchor: '2023-09-15T12:00:00.000Z',
    boundaries: ['2023-09-01T04:00:00.000Z', '2023-10-01T04:00:00.000Z', '2023-11-01T03:00:00.000Z', '2023-12-01T03:00:00.000Z'],
  },
  {
    name: 'Asuncion renewing on the 15th, anchored 00:30 on Oct 15 2023 (the anchor month has no midnight on its 1st)',
    rule: { rule: 'calendar_month', dayOfMonth: 15 },
    zone: 'America/Asuncion',
    anchor: '2023-10-15T03:30:00.000Z',
    boundaries: ['2023-10-15T03:00:00.000Z', '2023-11-15T03:00:00.000Z', '2023-12-15T03:00:00.000Z'],
  },
  {
    // Cuba moves clocks from 00:00 (-05) to 01:00 (-04) on the second Sunday of March (2026-03-08).
    name: 'Havana renewing on the 8th: the renewal day that has no midnight starts at 01:00 CDT',
    rule: { rule: 'calendar_month', dayOfMonth: 8 },
    zone: 'America/Havana',
    anchor: '2026-03-08T05:30:00.000Z',
    boundaries: ['2026-03-08T05:00:00.000Z', '2026-04-08T04:00:00.000Z', '2026-05-08T04:00:00.000Z'],
  },
  {
    name: 'Havana renewing on the 8th: 23:59:59.999 CST on Mar 7 is still in the February period',
    rule: { rule: 'calendar_month', dayOfMonth: 8 },
    zone: 'America/Havana',
    anchor: '2026-03-08T04:59:59.999Z',
    boundaries: ['2026-02-08T05:00:00.000Z', '2026-03-08T05:00:00.000Z'],
  },
];

interface ChainPeriod extends Span {
  name: string;
  rule: PeriodRule;
  zone: string;
  anchor: string;
}

const CHAIN_PERIODS: ChainPeriod[] = CHAINS.flatMap(({ boundaries, ...chain }) =>
  boundaries.slice(1).map((end, i) => ({ ...chain, index: i, start: boundaries[i] ?? '', end })),
);

describe('boundaries written out by hand', () => {
  it('every chain has at least one period', () => {
    for (const chain of CHAINS) expect(chain.boundaries.length, chain.name).toBeGreaterThanOrEqual(2);
  });

  it.each(titled(CHAIN_PERIODS, (p) => `${p.name}: periodByIndex(${p.index}) is [${p.start}, ${p.end})`))('%s', (_, { rule, zone, anchor, index, start, end }) => {
    expect(span(periodByIndex(rule, new Date(anchor), zone, index))).toEqual({ index, start, end });
  });

  it.each(titled(CHAIN_PERIODS, (p) => `${p.name}: periodAt finds period ${p.index} at its first and its last millisecond`))('%s', (_, { rule, zone, anchor, index, start, end }) => {
    expect(span(periodAt(rule, new Date(anchor), zone, new Date(start)))).toEqual({ index, start, end });
    expect(span(periodAt(rule, new Date(anchor), zone, justBefore(end)))).toEqual({ index, start, end });
  });

  it.each(titled(CHAINS, (c) => `${c.name}: the anchor lies in period 0`))('%s', (_, { rule, zone, anchor, boundaries }) => {
    const period = periodAt(rule, new Date(anchor), zone, new Date(anchor));
    expect(span(period)).toEqual({ index: 0, start: boundaries[0], end: boundaries[1] });
  });
});

describe('periodAt', () => {
  interface AtCase {
    name: string;
    rule: PeriodRule;
    zone: string;
    anchor: string;
    instant: string;
    expected: Span;
  }

  const PT10S: PeriodRule = { rule: 'duration', duration: 'PT10S' };
  const MONTHLY_ON_1ST: PeriodRule = { rule: 'calendar_month', dayOfMonth: 1 };

  it.each(titled<AtCase>([
    {
      name: 'PT10S: exactly on the first boundary is the new period',
      rule: PT10S,
      zone: 'UTC',
      anchor: '2026-01-01T00:00:00.000Z',
      instant: '2026-01-01T00:00:10.000Z',
      expected: { index: 1, start: '2026-01-01T00:00:10.000Z', end: '2026-01-01T00:00:20.000Z' },
    },
    {
      name: 'PT10S: one ms before the first boundary is the old period',
      rule: PT10S,
      zone: 'UTC',
      anchor: '2026-01-01T00:00:00.000Z',
      instant: '2026-01-01T00:00:09.999Z',
      expected: { index: 0, start: '2026-01-01T00:00:00.000Z', end: '2026-01-01T00:00:10.000Z' },
    },
    {
      // 100,000 × 10 s = 1,000,000 s = 11 d 13 h 46 min 40 s
      name: 'PT10S: 100,000 periods later, exactly on the boundary',
      rule: PT10S,
      zone: 'Europe/Berlin',
      anchor: '2026-01-01T00:00:00.000Z',
      instant: '2026-01-12T13:46:40.000Z',
      expected: { index: 100_000, start: '2026-01-12T13:46:40.000Z', end: '2026-01-12T13:46:50.000Z' },
    },
    {
      name: 'PT10S: 100,000 periods later, one ms before the boundary',
      rule: PT10S,
      zone: 'Europe/Berlin',
      anchor: '2026-01-01T00:00:00.000Z',
      instant: '2026-01-12T13:46:39.999Z',
      expected: { index: 99_999, start: '2026-01-12T13:46:30.000Z', end: '2026-01-12T13:46:40.000Z' },
    },
    {
      // 3,153,600,000 × 1 s = 36,500 days; 2026-01-01 → 2126-01-01 is 36,524 days (24 leap days: 2028 … 2124
      // without 2100), so 24 days before 2126-01-01
      name: 'PT1S: 3,153,600,000 periods (36,500 days) later',
      rule: { rule: 'duration', duration: 'PT1S' },
      zone: 'UTC',
      anchor: '2026-01-01T00:00:00.000Z',
      instant: '2125-12-08T00:00:00.500Z',
      expected: { index: 3_153_600_000, start: '2125-12-08T00:00:00.000Z', end: '2125-12-08T00:00:01.000Z' },
    },
    {
      name: 'calendar month in New York 10 years later, exactly at local midnight (EST)',
      rule: MONTHLY_ON_1ST,
      zone: 'America/New_York',
      anchor: '2026-01-15T12:00:00.000Z',
      instant: '2036-01-01T05:00:00.000Z',
      expected: { index: 120, start: '2036-01-01T05:00:00.000Z', end: '2036-02-01T05:00:00.000Z' },
    },
    {
      name: 'calendar month in New York 10 years later, one ms before local midnight',
      rule: MONTHLY_ON_1ST,
      zone: 'America/New_York',
      anchor: '2026-01-15T12:00:00.000Z',
      instant: '2036-01-01T04:59:59.999Z',
      expected: { index: 119, start: '2035-12-01T05:00:00.000Z', end: '2036-01-01T05:00:00.000Z' },
    },
    {
      name: 'calendar month in New York 10 years later, in summer time',
      rule: MONTHLY_ON_1ST,
      zone: 'America/New_York',
      anchor: '2026-01-15T12:00:00.000Z',
      instant: '2036-07-01T04:00:00.000Z',
      expected: { index: 126, start: '2036-07-01T04:00:00.000Z', end: '2036-08-01T04:00:00.000Z' },
    },
    {
      name: 'anniversary month from Jan 31 10 years later lands on Jan 31 and then leap Feb 29 2036',
      rule: { rule: 'anniversary_months', months: 1 },
      zone: 'UTC',
      anchor: '2026-01-31T10:00:00.000Z',
      instant: '2036-02-15T00:00:00.000Z',
      expected: { index: 120, start: '2036-01-31T10:00:00.000Z', end: '2036-02-29T10:00:00.000Z' },
    },
    {
      name: 'P1M duration from Jan 31, 100 years later',
      rule: { rule: 'duration', duration: 'P1M' },
      zone: 'UTC',
      anchor: '2026-01-31T10:00:00.000Z',
      instant: '2126-01-31T10:00:00.000Z',
      expected: { index: 1200, start: '2126-01-31T10:00:00.000Z', end: '2126-02-28T10:00:00.000Z' },
    },
    {
      // 2026-03-06 + 3650 days = 2036-03-03 (leap days 2028, 2032 and 2036-02-29 in between)
      name: 'daily at 09:30 New York, 3650 periods later (EST)',
      rule: { rule: 'every_n_days', days: 1 },
      zone: 'America/New_York',
      anchor: '2026-03-06T14:30:00.000Z',
      instant: '2036-03-03T14:30:00.000Z',
      expected: { index: 3650, start: '2036-03-03T14:30:00.000Z', end: '2036-03-04T14:30:00.000Z' },
    },
    {
      name: 'calendar month: an instant before the anchor but inside its period is period 0',
      rule: MONTHLY_ON_1ST,
      zone: 'America/New_York',
      anchor: '2026-02-15T12:00:00.000Z',
      instant: '2026-02-01T05:00:00.000Z',
      expected: { index: 0, start: '2026-02-01T05:00:00.000Z', end: '2026-03-01T05:00:00.000Z' },
    },
  ], (c) => c.name))('%s', (_, { rule, zone, anchor, instant, expected }) => {
    expect(span(periodAt(rule, new Date(anchor), zone, new Date(instant)))).toEqual(expected);
    expect(span(periodByIndex(rule, new Date(anchor), zone, expected.index))).toEqual(expected);
  });

  it.each(titled<{ name: string; rule: PeriodRule; zone: string; anchor: string; instant: string }>([
    { name: 'PT10S, 1 ms before the anchor', rule: PT10S, zone: 'UTC', anchor: '2026-01-01T00:00:00.000Z', instant: '2025-12-31T23:59:59.999Z' },
    { name: 'PT10S, a day before the anchor', rule: PT10S, zone: 'UTC', anchor: '2026-01-01T00:00:00.000Z', instant: '2025-12-31T00:00:00.000Z' },
    {
      name: 'every_n_days, 1 ms before the anchor',
      rule: { rule: 'every_n_days', days: 30 },
      zone: 'America/New_York',
      anchor: '2026-03-06T14:30:00.000Z',
      instant: '2026-03-06T14:29:59.999Z',
    },
    {
      name: 'anniversary_months, 1 ms before the anchor',
      rule: { rule: 'anniversary_months', months: 1 },
      zone: 'UTC',
      anchor: '2026-01-31T10:00:00.000Z',
      instant: '2026-01-31T09:59:59.999Z',
    },
    {
      name: 'calendar_month, 1 ms before local midnight of the anchor period',
      rule: MONTHLY_ON_1ST,
      zone: 'America/New_York',
      anchor: '2026-02-15T12:00:00.000Z',
      instant: '2026-02-01T04:59:59.999Z',
    },
    {
      name: 'calendar_month in Tokyo, a year before the anchor',
      rule: MONTHLY_ON_1ST,
      zone: 'Asia/Tokyo',
      anchor: '2026-05-31T16:00:00.000Z',
      instant: '2025-05-31T16:00:00.000Z',
    },
  ], (c) => `throws for an instant before the first period: ${c.name}`))('%s', (_, { rule, zone, anchor, instant }) => {
    expect(() => periodAt(rule, new Date(anchor), zone, new Date(instant))).toThrow(/is before the first period/);
  });
});

describe('periodByIndex input checks', () => {
  const rule: PeriodRule = { rule: 'calendar_month', dayOfMonth: 1 };
  const anchor = new Date('2026-01-15T00:00:00.000Z');

  it.each([-1, 0.5, Number.NaN, Number.POSITIVE_INFINITY, 3_200_000_001])('rejects index %s', (index) => {
    expect(() => periodByIndex(rule, anchor, 'UTC', index)).toThrow(/invalid period index/);
  });

  it('rejects an unknown time zone', () => {
    expect(() => periodByIndex(rule, anchor, 'Mars/Olympus_Mons', 0)).toThrow(/invalid anchor .* or time zone/);
  });

  it('rejects an invalid anchor', () => {
    expect(() => periodAt(rule, new Date(Number.NaN), 'UTC', anchor)).toThrow();
  });
});

describe('daysLeft counts calendar days in the zone, rounded up', () => {
  it.each(titled<{ name: string; end: string; now: string; zone: string; expected: number }>([
    { name: 'UTC: 11 days 14 hours', end: '2026-02-01T00:00:00.000Z', now: '2026-01-20T10:00:00.000Z', zone: 'UTC', expected: 12 },
    { name: 'UTC: exactly at the boundary', end: '2026-02-01T00:00:00.000Z', now: '2026-02-01T00:00:00.000Z', zone: 'UTC', expected: 0 },
    { name: 'UTC: after the boundary', end: '2026-02-01T00:00:00.000Z', now: '2026-02-03T00:00:00.000Z', zone: 'UTC', expected: 0 },
    { name: 'UTC: 1 ms before the boundary', end: '2026-02-01T00:00:00.000Z', now: '2026-01-31T23:59:59.999Z', zone: 'UTC', expected: 1 },
    { name: 'UTC: exactly one day', end: '2026-02-01T00:00:00.000Z', now: '2026-01-31T00:00:00.000Z', zone: 'UTC', expected: 1 },
    { name: 'UTC: one day and 1 ms', end: '2026-02-01T00:00:00.000Z', now: '2026-01-30T23:59:59.999Z', zone: 'UTC', expected: 2 },
    { name: 'UTC: a whole leap February', end: '2028-03-01T00:00:00.000Z', now: '2028-02-01T00:00:00.000Z', zone: 'UTC', expected: 29 },
    { name: 'UTC: a whole common February', end: '2027-03-01T00:00:00.000Z', now: '2027-02-01T00:00:00.000Z', zone: 'UTC', expected: 28 },
    // New York, spring forward: Mar 8 2026 has 23 hours
    { name: 'New York: the 23h day is one day', end: '2026-03-09T04:00:00.000Z', now: '2026-03-08T05:00:00.000Z', zone: 'America/New_York', expected: 1 },
    { name: 'New York: two days spanning the 23h day', end: '2026-03-09T04:00:00.000Z', now: '2026-03-07T05:00:00.000Z', zone: 'America/New_York', expected: 2 },
    // 47.5 elapsed hours (under 2 × 24) but 2 calendar days and 30 minutes
    { name: 'New York: 23:30 Mar 7 → midnight Mar 10 is 2 days 30 min', end: '2026-03-10T04:00:00.000Z', now: '2026-03-08T04:30:00.000Z', zone: 'America/New_York', expected: 3 },
    { name: 'New York: at the boundary after spring forward', end: '2026-03-09T04:00:00.000Z', now: '2026-03-09T04:00:00.000Z', zone: 'America/New_York', expected: 0 },
    // New York, fall back: Nov 1 2026 has 25 hours
    { name: 'New York: the 25h day is one day', end: '2026-11-02T05:00:00.000Z', now: '2026-11-01T04:00:00.000Z', zone: 'America/New_York', expected: 1 },
    { name: 'New York: the 25h day minus 1 ms', end: '2026-11-02T05:00:00.000Z', now: '2026-11-01T04:00:00.001Z', zone: 'America/New_York', expected: 1 },
    { name: 'New York: two days spanning the 25h day', end: '2026-11-02T05:00:00.000Z', now: '2026-10-31T04:00:00.000Z', zone: 'America/New_York', expected: 2 },
    { name: 'New York: a whole November (30 days, 721 hours)', end: '2026-12-01T05:00:00.000Z', now: '2026-11-01T04:00:00.000Z', zone: 'America/New_York', expected: 30 },
    // Berlin
    { name: 'Berlin: the 23h day (2026-03-29) is one day', end: '2026-03-29T22:00:00.000Z', now: '2026-03-28T23:00:00.000Z', zone: 'Europe/Berlin', expected: 1 },
    { name: 'Berlin: the 25h day (2026-10-25) is one day', end: '2026-10-25T23:00:00.000Z', now: '2026-10-24T22:00:00.000Z', zone: 'Europe/Berlin', expected: 1 },
    { name: 'Berlin: a whole March (31 days, 743 hours)', end: '2026-03-31T22:00:00.000Z', now: '2026-02-28T23:00:00.000Z', zone: 'Europe/Berlin', expected: 31 },
    // Sydney
    { name: 'Sydney: the 25h day (2026-04-05) is one day', end: '2026-04-05T14:00:00.000Z', now: '2026-04-04T13:00:00.000Z', zone: 'Australia/Sydney', expected: 1 },
    { name: 'Sydney: the 23h day (2026-10-04) is one day', end: '2026-10-04T13:00:00.000Z', now: '2026-10-03T14:00:00.000Z', zone: 'Australia/Sydney', expected: 1 },
    // Other zones
    { name: 'Tokyo: 11 days to June 1 local midnight', end: '2026-05-31T15:00:00.000Z', now: '2026-05-20T15:00:00.000Z', zone: 'Asia/Tokyo', expected: 11 },
    { name: 'Kolkata: half a day', end: '2026-07-31T18:30:00.000Z', now: '2026-07-31T06:30:00.000Z', zone: 'Asia/Kolkata', expected: 1 },
    { name: 'Honolulu: 17 hours', end: '2026-02-15T10:00:00.000Z', now: '2026-02-14T17:00:00.000Z', zone: 'Pacific/Honolulu', expected: 1 },
  ], (c) => `${c.name} → ${c.expected}`))('%s', (_, { end, now, zone, expected }) => {
    expect(daysLeft(new Date(end), new Date(now), zone)).toBe(expected);
  });
});

describe('zonedIso: an instant in the account\'s zone, ISO 8601 with the offset', () => {
  it('gives the offset of that date, across DST, and one spelling of a zero offset whatever the zone is called', () => {
    expect(zonedIso('2027-01-15T12:00:00.000Z', 'Europe/Paris')).toBe('2027-01-15T13:00:00+01:00');
    expect(zonedIso('2027-07-15T12:00:00.000Z', 'Europe/Paris')).toBe('2027-07-15T14:00:00+02:00');
    expect(zonedIso('2027-01-15T12:00:00.000Z', 'America/New_York')).toBe('2027-01-15T07:00:00-05:00');
    for (const zone of ['UTC', 'Etc/UTC', 'GMT', 'Europe/London']) expect(zonedIso('2027-01-15T12:00:00.000Z', zone)).toBe('2027-01-15T12:00:00+00:00');
  });

  it('keeps milliseconds only when there are some, and gives back what it cannot read', () => {
    expect(zonedIso('2027-01-15T12:00:00.250Z', 'Europe/Paris')).toBe('2027-01-15T13:00:00.250+01:00');
    expect(zonedIso('2027-01-15T12:00:00.000Z', 'Nowhere/Atlantis')).toBe('2027-01-15T12:00:00.000Z');
    expect(zonedIso('not an instant', 'Europe/Paris')).toBe('not an instant');
  });
});
