/**
 * How the console and the widget show credits and instants. Intl only (no DOM, no library), so the
 * same functions run in a browser and in the tests, which check them against the server's own
 * `zonedIso` (src/periods/periods.ts): an operator reads the same instant in the console as in the CLI.
 */

const partsFormats = new Map<string, Intl.DateTimeFormat>();

/** The wall-clock fields of an instant in a time zone, and its offset there as `+01:00`. */
function wallClock(instant: Date, timeZone: string): { date: string; time: string; offset: string } {
  let format = partsFormats.get(timeZone);
  if (format === undefined) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      timeZoneName: 'longOffset',
    });
    partsFormats.set(timeZone, format);
  }
  const part = Object.fromEntries(format.formatToParts(instant).map((entry) => [entry.type, entry.value]));
  // longOffset reads "GMT+01:00", or "GMT" alone at UTC.
  const offset = (part.timeZoneName ?? 'GMT').slice(3) || '+00:00';
  return { date: `${part.year ?? ''}-${part.month ?? ''}-${part.day ?? ''}`, time: `${part.hour ?? ''}:${part.minute ?? ''}:${part.second ?? ''}`, offset };
}

/**
 * An instant in the account's time zone, ISO 8601 with the offset, as the CLI prints it:
 * `2027-01-15T13:00:00+01:00`, with milliseconds when there are some. Text that is not an instant is
 * returned as it is.
 */
export function zonedIso(iso: string, timeZone: string): string {
  const instant = new Date(iso);
  if (Number.isNaN(instant.getTime())) return iso;
  const { date, time, offset } = wallClock(instant, timeZone);
  const millis = instant.getUTCMilliseconds();
  return `${date}T${time}${millis === 0 ? '' : `.${String(millis).padStart(3, '0')}`}${offset}`;
}

/** `YYYY-MM-DDTHH:mm:ss` of an instant in a time zone: the value of an `<input type="datetime-local" step="1">`. */
export function zonedLocal(iso: string, timeZone: string): string {
  return zonedIso(iso, timeZone).slice(0, 19);
}

const LOCAL = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/;

/**
 * The instant (ISO, UTC) of a wall-clock time in a time zone, from an `<input type="datetime-local">`:
 * the zone's offset is read at a first guess and again at the result, which differ only across a
 * change of offset. A time a spring-forward skips lands after the gap; one a fall-back repeats is
 * one of its two instants. Null when `local` is not such a value.
 */
export function zonedInstant(local: string, timeZone: string): string | null {
  const match = LOCAL.exec(local);
  if (!match) return null;
  const field = (group: number): number => Number(match[group] ?? 0);
  const asUtc = Date.UTC(field(1), field(2) - 1, field(3), field(4), field(5), field(6));
  const offsetAt = (time: number): number => {
    const { date, time: clock } = wallClock(new Date(time), timeZone);
    return Date.parse(`${date}T${clock}Z`) - Math.floor(time / 1000) * 1000;
  };
  const guess = asUtc - offsetAt(asUtc);
  return new Date(asUtc - offsetAt(guess)).toISOString();
}

/** The calendar day (`YYYY-MM-DD`) of an instant in a time zone: how the API keys usage by day. */
export function zonedDay(iso: string, timeZone: string): string {
  return zonedIso(iso, timeZone).slice(0, 10);
}

/** The days from `first` to `last` (both `YYYY-MM-DD`, inclusive), at most `limit` of them. */
export function daysBetween(first: string, last: string, limit: number): string[] {
  const days: string[] = [];
  for (let day = Date.parse(`${first}T00:00:00Z`); days.length < limit && day <= Date.parse(`${last}T00:00:00Z`); day += 86_400_000) {
    days.push(new Date(day).toISOString().slice(0, 10));
  }
  return days;
}

const creditFormats = new Map<string, Intl.NumberFormat>();

/** Credits as people read them, every decimal kept (amounts have at most 6): `1,234.5`. */
export function formatCredits(credits: number, locale?: string): string {
  const key = locale ?? '';
  let format = creditFormats.get(key);
  if (format === undefined) {
    format = new Intl.NumberFormat(locale, { maximumFractionDigits: 6 });
    creditFormats.set(key, format);
  }
  return format.format(credits);
}
