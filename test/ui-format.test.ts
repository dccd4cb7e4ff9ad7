/**
 * The console shows an instant as the CLI does: its `zonedIso` (Intl, in the browser) agrees with the
 * server's (luxon) in every zone, and a wall-clock time typed in a filter comes back as its instant.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { zonedIso as serverZonedIso } from '../src/periods/periods.js';
import { daysBetween, formatCredits, zonedInstant, zonedIso, zonedLocal } from '../src/ui/format.js';

const ZONES = ['UTC', 'Europe/Paris', 'America/New_York', 'America/Sao_Paulo', 'Asia/Kolkata', 'Asia/Kathmandu', 'Australia/Lord_Howe', 'Pacific/Chatham', 'Pacific/Kiritimati'];
// 1990 to 2060, with and without milliseconds.
const instants = fc.integer({ min: 631_152_000_000, max: 2_871_763_200_000 }).chain((ms) => fc.constantFrom(ms, Math.floor(ms / 1000) * 1000));

describe("the browser's time formatting", () => {
  it('prints an instant in a zone exactly as the server does', () => {
    fc.assert(
      fc.property(instants, fc.constantFrom(...ZONES), (ms, zone) => {
        const iso = new Date(ms).toISOString();
        expect(zonedIso(iso, zone)).toBe(serverZonedIso(iso, zone));
      }),
      { numRuns: 2_000 },
    );
    expect(zonedIso('2027-01-15T12:00:00.000Z', 'Europe/Paris')).toBe('2027-01-15T13:00:00+01:00');
    expect(zonedIso('2027-01-01T00:00:00.132Z', 'UTC')).toBe('2027-01-01T00:00:00.132+00:00');
    expect(zonedIso('not an instant', 'UTC')).toBe('not an instant');
  });

  it("reads a wall-clock time typed in the account's zone back as the instant it names, across changes of offset", () => {
    fc.assert(
      fc.property(instants, fc.constantFrom(...ZONES), (ms, zone) => {
        // Not always the same instant: a wall-clock time a fall-back repeats names two of them.
        const local = zonedLocal(new Date(ms).toISOString(), zone);
        expect(zonedLocal(zonedInstant(local, zone) ?? '', zone)).toBe(local);
      }),
      { numRuns: 2_000 },
    );
    expect(zonedInstant('2027-07-01T09:30', 'Europe/Paris')).toBe('2027-07-01T07:30:00.000Z');
    expect(zonedInstant('2027-01-15T13:00:05', 'Europe/Paris')).toBe('2027-01-15T12:00:05.000Z');
    // 02:30 does not exist in Paris on 2027-03-28 (02:00 jumps to 03:00): it lands after the gap.
    expect(zonedInstant('2027-03-28T02:30', 'Europe/Paris')).toBe('2027-03-28T01:30:00.000Z');
    expect(zonedInstant('yesterday', 'UTC')).toBeNull();
  });

  it('lists the days of a range and keeps every decimal of an amount', () => {
    expect(daysBetween('2027-02-27', '2027-03-02', 10)).toEqual(['2027-02-27', '2027-02-28', '2027-03-01', '2027-03-02']);
    expect(daysBetween('2027-01-01', '2027-12-31', 3)).toHaveLength(3);
    expect(formatCredits(1234.5, 'en-US')).toBe('1,234.5');
    expect(formatCredits(0.000001, 'en-US')).toBe('0.000001');
  });
});
