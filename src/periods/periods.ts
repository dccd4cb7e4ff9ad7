import { DateTime, Duration } from 'luxon';
import type { PeriodRule } from '../catalog/schema.js';

/** A billing period: [start, end) with its position counted from the account's anchor period. */
export interface Period {
  index: number;
  start: Date;
  end: Date;
}

/** Enough periods for a century of 1-second demo periods; anything beyond is a caller bug. */
const MAX_INDEX = 3_200_000_000;
const APPROXIMATE_MONTH_MS = 30.436875 * 86_400_000;

/**
 * Boundaries are always computed from the anchor (never by chaining period ends), so a period that
 * starts on the 31st stays on the 31st (clamped to short months) instead of drifting to the 28th.
 * All calendar arithmetic happens in the account's time zone, so boundaries keep their local wall
 * time across DST changes.
 */
function boundary(rule: PeriodRule, anchor: DateTime, index: number): DateTime {
  switch (rule.rule) {
    case 'calendar_month': {
      const month = anchorMonth(rule.dayOfMonth, anchor).plus({ months: index });
      // startOf('day'): `month` is 01:00, not midnight, when the anchor month's 1st had no midnight (DST).
      return month.set({ day: Math.min(rule.dayOfMonth, month.daysInMonth ?? 28) }).startOf('day');
    }
    case 'anniversary_months':
      return anchor.plus({ months: rule.months * index });
    case 'every_n_days':
      return anchor.plus({ days: rule.days * index });
    case 'duration':
      return anchor.plus(Duration.fromISO(rule.duration).mapUnits((value) => value * index));
  }
}

/** First day, at midnight, of the month whose renewal day starts the period containing the anchor. */
function anchorMonth(dayOfMonth: number, anchor: DateTime): DateTime {
  const month = anchor.startOf('month');
  const renewal = month.set({ day: Math.min(dayOfMonth, month.daysInMonth ?? 28) }).startOf('day');
  return anchor < renewal ? month.minus({ months: 1 }) : month;
}

function approximateLengthMs(rule: PeriodRule): number {
  switch (rule.rule) {
    case 'calendar_month':
      return APPROXIMATE_MONTH_MS;
    case 'anniversary_months':
      return rule.months * APPROXIMATE_MONTH_MS;
    case 'every_n_days':
      return rule.days * 86_400_000;
    case 'duration':
      return Duration.fromISO(rule.duration).toMillis();
  }
}

function localAnchor(anchor: Date, timeZone: string): DateTime {
  const local = DateTime.fromJSDate(anchor, { zone: timeZone });
  if (!local.isValid) throw new Error(`invalid anchor ${anchor.toISOString()} or time zone "${timeZone}"`);
  return local;
}

/** The period with the given index; index 0 contains the anchor. */
export function periodByIndex(rule: PeriodRule, anchor: Date, timeZone: string, index: number): Period {
  if (!Number.isSafeInteger(index) || index < 0 || index > MAX_INDEX) throw new Error(`invalid period index ${index}`);
  const local = localAnchor(anchor, timeZone);
  return { index, start: boundary(rule, local, index).toJSDate(), end: boundary(rule, local, index + 1).toJSDate() };
}

/** The period containing `instant` (which must not be before the anchor's period). */
export function periodAt(rule: PeriodRule, anchor: Date, timeZone: string, instant: Date): Period {
  const local = localAnchor(anchor, timeZone);
  const at = instant.getTime();
  let index = Math.max(0, Math.floor((at - anchor.getTime()) / approximateLengthMs(rule)));
  // The estimate is off by at most a few periods (month lengths, DST); walk to the exact one.
  for (let steps = 0; ; steps++) {
    if (steps > 64) throw new Error(`invariant: no period found for ${instant.toISOString()}`);
    if (index > 0 && boundary(rule, local, index).toMillis() > at) index--;
    else if (boundary(rule, local, index + 1).toMillis() <= at) index++;
    else break;
  }
  if (index === 0 && boundary(rule, local, 0).toMillis() > at) {
    throw new Error(`${instant.toISOString()} is before the first period of anchor ${anchor.toISOString()}`);
  }
  return periodByIndex(rule, anchor, timeZone, index);
}

/**
 * Whole days until the next refresh as a person in the account's time zone counts them: calendar
 * days (a 23- or 25-hour DST day is one day), rounded up, 0 at the boundary itself.
 */
export function daysLeft(periodEnd: Date, now: Date, timeZone: string): number {
  const end = DateTime.fromJSDate(periodEnd, { zone: timeZone });
  const from = DateTime.fromJSDate(now, { zone: timeZone });
  return Math.max(0, Math.ceil(end.diff(from, 'days').days - 1e-9));
}

/**
 * An instant as people of the account read it: ISO 8601 in its time zone with the offset
 * ("2026-01-01T00:00:00+01:00"; milliseconds only when there are some). An offset of zero is always
 * "+00:00", whatever the zone is called: luxon alone writes "Z" for "UTC" but "+00:00" for
 * "Etc/UTC" or London in winter. An ISO string or zone that cannot be read comes back as given
 * (still a right answer, in UTC). Pure, so workflows use it for their current details too.
 */
export function zonedIso(iso: string, timeZone: string): string {
  const instant = DateTime.fromISO(iso, { zone: timeZone });
  if (!instant.isValid) return iso;
  return instant.toISO({ suppressMilliseconds: true, includeOffset: true }).replace(/Z$/, '+00:00');
}

/** A sequence of periods: a plan whose period rule differs starts a new one at a boundary. */
export interface Schedule {
  anchor: string;
  rule: PeriodRule;
}

/** A period as workflows and activities pass it: ISO instants. */
export interface PeriodView {
  index: number;
  start: string;
  end: string;
}

export function toPeriodView(period: Period): PeriodView {
  return { index: period.index, start: period.start.toISOString(), end: period.end.toISOString() };
}

function sameRule(a: PeriodRule, b: PeriodRule): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The period after `period` under `rule`: a rule other than the schedule's starts a new schedule at the boundary. */
export function followingPeriod(schedule: Schedule, period: PeriodView, rule: PeriodRule, timeZone: string): { schedule: Schedule; period: PeriodView } {
  if (sameRule(schedule.rule, rule)) {
    return { schedule, period: toPeriodView(periodByIndex(schedule.rule, new Date(schedule.anchor), timeZone, period.index + 1)) };
  }
  const fresh: Schedule = { anchor: period.end, rule };
  return { schedule: fresh, period: toPeriodView(periodByIndex(fresh.rule, new Date(fresh.anchor), timeZone, 0)) };
}
