import { InvalidArgumentError } from 'commander';
import { z } from 'zod';

/**
 * Argument parsers for commander: a bad value is a usage error (exit 2) reported by commander with
 * the option's name. Range limits the API enforces itself (page sizes, 6 decimals) are left to it.
 */

/** A credit amount as a plain decimal, passed through as a JSON number without rounding. */
export function creditsArg(value: string): number {
  if (!/^\d+(?:\.\d+)?$/.test(value.trim())) throw new InvalidArgumentError('must be a number of credits such as 50 or 0.5');
  const credits = Number(value);
  if (!(credits > 0)) throw new InvalidArgumentError('must be more than 0 credits');
  return credits;
}

export function nonNegativeIntegerArg(value: string): number {
  if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError('must be a whole number, 0 or more');
  const number = Number(value);
  if (!Number.isSafeInteger(number)) throw new InvalidArgumentError('is too large');
  return number;
}

export function positiveIntegerArg(value: string): number {
  const number = nonNegativeIntegerArg(value);
  if (number === 0) throw new InvalidArgumentError('must be 1 or more');
  return number;
}

const isoInstant = z.iso.datetime({ offset: true });
const isoDate = z.iso.date();

/** An ISO-8601 instant with its offset, or a date alone meaning midnight UTC. */
export function instantArg(value: string): string {
  const text = value.trim();
  if (isoInstant.safeParse(text).success) return text;
  if (isoDate.safeParse(text).success) return `${text}T00:00:00Z`;
  throw new InvalidArgumentError('must be an ISO-8601 date-time with an offset such as 2026-01-31T12:00:00Z, or a date such as 2026-01-31 (midnight UTC)');
}
