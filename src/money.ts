/**
 * Credits are stored and computed as integer micro-credits (1 credit = 1,000,000 micros) so that
 * fractional prices such as 0.5 or 0.02 credits add up exactly. Floats never touch an amount.
 */
declare const microsUnit: unique symbol;
/**
 * An amount in micro-credits. Branded, so that a plain number (a quantity, an amount in credits)
 * cannot be passed where micros are meant: make one with `micros()`, `parseCredits()` or the
 * arithmetic below; an amount read from the database is declared as micros where it is read.
 */
export type Micros = number & { readonly [microsUnit]: true };

export const ZERO_MICROS = 0 as Micros;

export const MICROS_PER_CREDIT = 1_000_000;
export const CREDIT_DECIMALS = 6;

/** Upper bound on any single amount: one billion credits, so sums of many stay inside 2^53 micros. */
export const MAX_CREDITS = 1_000_000_000;
export const MAX_MICROS = (MAX_CREDITS * MICROS_PER_CREDIT) as Micros;

const DECIMAL_PATTERN = /^(\d{1,10})(?:\.(\d{1,6}))?$/;

export class CreditAmountError extends Error {
  override readonly name = 'CreditAmountError';
}

/**
 * Parses a credit amount written in decimal ("0.02", "30", 0.5) into micros, exactly.
 * Numbers are read through their shortest decimal representation, which is exact for any value
 * with at most six decimals; anything finer, negative, or non-finite is rejected.
 */
export function parseCredits(value: string | number): Micros {
  const text = typeof value === 'number' ? numberToPlainDecimal(value) : value.trim();
  const match = DECIMAL_PATTERN.exec(text);
  if (!match) throw new CreditAmountError(`"${String(value)}" ${whyNotACreditAmount(value, text)}`);
  const whole = Number(match[1]);
  const fraction = Number((match[2] ?? '').padEnd(CREDIT_DECIMALS, '0'));
  const micros = whole * MICROS_PER_CREDIT + fraction;
  if (!Number.isSafeInteger(micros) || micros > MAX_MICROS) {
    throw new CreditAmountError(`"${String(value)}" is above the limit of ${MAX_CREDITS} credits`);
  }
  return micros as Micros;
}

/** Says precisely why a value that failed DECIMAL_PATTERN is not a credit amount. */
function whyNotACreditAmount(value: string | number, text: string): string {
  const aboveLimit = `is above the limit of ${MAX_CREDITS} credits`;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return 'is not a finite number';
    if (value < 0) return 'is negative; credit amounts cannot be below zero';
    // Plain decimals are handled below; exponent notation only appears for tiny or huge numbers.
    if (/e/i.test(text)) return value < 1 ? tooManyDecimals() : aboveLimit;
  }
  if (text.startsWith('-')) return 'is negative; credit amounts cannot be below zero';
  if (/^\d+\.\d+$/.test(text) && (text.split('.')[1] ?? '').length > CREDIT_DECIMALS) return tooManyDecimals();
  if (/^\d+(?:\.\d+)?$/.test(text) && Number(text) > MAX_CREDITS) return aboveLimit;
  if (/^[+]?\d*\.?\d+e[+-]?\d+$/i.test(text)) return 'uses exponent notation; write the amount as a plain decimal such as "0.02"';
  return 'is not a decimal credit amount such as "30" or "0.02"';
}

function tooManyDecimals(): string {
  return `has more than ${CREDIT_DECIMALS} decimals, so it cannot be represented exactly in micro-credits`;
}

function numberToPlainDecimal(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  // toString switches to exponent notation below 1e-6 and above 1e21; both are out of range anyway.
  return value.toString();
}

/** Formats micros as a decimal credit string without trailing zeros: 500000 -> "0.5". */
export function formatCredits(micros: Micros): string {
  assertMicros(micros, 'amount', { allowNegative: true });
  const sign = micros < 0 ? '-' : '';
  const abs = Math.abs(micros);
  const whole = Math.trunc(abs / MICROS_PER_CREDIT);
  const fraction = (abs % MICROS_PER_CREDIT).toString().padStart(CREDIT_DECIMALS, '0').replace(/0+$/, '');
  return fraction ? `${sign}${whole}.${fraction}` : `${sign}${whole}`;
}

/** Micros as a JSON number of credits. Exact: every value with at most 6 decimals round-trips. */
export function microsToCredits(micros: Micros): number {
  return Number(formatCredits(micros));
}

export function assertMicros(
  value: number,
  what: string,
  options: { allowNegative?: boolean } = {},
): asserts value is Micros {
  if (!Number.isSafeInteger(value) || (!options.allowNegative && value < 0)) {
    throw new Error(`invariant: ${what} must be a ${options.allowNegative ? '' : 'non-negative '}safe integer of micros, got ${value}`);
  }
}

/** Multiplies a unit price by a quantity, refusing results that would leave exact integer range. */
export function multiplyMicros(unitPrice: Micros, quantity: number): Micros {
  assertMicros(unitPrice, 'unit price');
  if (!Number.isSafeInteger(quantity) || quantity < 0) {
    throw new Error(`invariant: quantity must be a non-negative integer, got ${quantity}`);
  }
  const total = unitPrice * quantity;
  if (!Number.isSafeInteger(total) || total > MAX_MICROS) {
    throw new CreditAmountError(`${quantity} × ${formatCredits(unitPrice)} credits exceeds the amount limit`);
  }
  return total as Micros;
}

/** An integer number of micros (negative for a debit) as `Micros`; anything else is a bug. */
export function micros(value: number): Micros {
  assertMicros(value, 'amount', { allowNegative: true });
  return value;
}

/** The exact sum of amounts, checked to stay an integer of micros. */
export function sumMicros(amounts: Iterable<Micros>): Micros {
  let total = 0;
  for (const amount of amounts) total += amount;
  return micros(total);
}

export function subtractMicros(from: Micros, amount: Micros): Micros {
  return micros(from - amount);
}
