/**
 * Money arithmetic: credits are exact integer micro-credits (1 credit = 1,000,000 micros), so the
 * fractional prices of the seeds (0.5 per image, 0.02 per product field) add up exactly.
 */
import { describe, expect, it } from 'vitest';
import {
  type Micros,
  CreditAmountError,
  formatCredits,
  MAX_CREDITS,
  MAX_MICROS,
  MICROS_PER_CREDIT,
  microsToCredits,
  multiplyMicros,
  parseCredits,
} from '../src/money.js';

/** Runs `action` and returns the CreditAmountError it throws (failing the test otherwise). */
function creditAmountError(action: () => unknown): CreditAmountError {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(CreditAmountError);
    return error as CreditAmountError;
  }
  throw new Error('expected a CreditAmountError, nothing was thrown');
}

describe('parseCredits', () => {
  it.each([
    ['0.02', 20_000],
    [0.02, 20_000],
    [0.5, 500_000],
    ['0.5', 500_000],
    ['30', 30_000_000],
    [30, 30_000_000],
    [1_000_000_000, 1_000_000_000_000_000],
    ['1000000000', 1_000_000_000_000_000],
    ['0.000001', 1],
    [0.000001, 1],
    ['999999999.999999', 999_999_999_999_999],
    [999_999_999.999999, 999_999_999_999_999],
    ['0', 0],
    [0, 0],
    ['  2.5 ', 2_500_000],
  ])('reads %j as exactly %i micros', (input, micros) => {
    expect(parseCredits(input)).toBe(micros);
  });

  it('puts the largest accepted amount at one billion credits', () => {
    expect(MICROS_PER_CREDIT).toBe(1_000_000);
    expect(MAX_MICROS).toBe(MAX_CREDITS * MICROS_PER_CREDIT);
    expect(parseCredits(MAX_CREDITS)).toBe(MAX_MICROS);
    expect(Number.isSafeInteger(MAX_MICROS)).toBe(true);
  });

  it.each([['0.0000001'], [0.0000001], ['1.1234567'], [1.1234567], ['0.30000000000000004'], [0.1 + 0.2]])(
    'rejects %j: more than 6 decimals cannot be represented exactly',
    (input) => {
      expect(creditAmountError(() => parseCredits(input)).message).toBe(
        `"${String(input)}" has more than 6 decimals, so it cannot be represented exactly in micro-credits`,
      );
    },
  );

  it.each([[-1], [-0.5], ['-1'], ['-0.02'], [' -30 '], [-1e-7], ['-Infinity']])('rejects the negative amount %j', (input) => {
    expect(creditAmountError(() => parseCredits(input)).message).toBe(
      `"${String(input)}" is negative; credit amounts cannot be below zero`,
    );
  });

  it.each([[Number.NaN], [Number.POSITIVE_INFINITY], [Number.NEGATIVE_INFINITY]])('rejects the non-finite number %s', (input) => {
    expect(creditAmountError(() => parseCredits(input)).message).toBe(`"${String(input)}" is not a finite number`);
  });

  it.each([['NaN'], ['Infinity'], [''], ['abc'], ['1,5'], ['.5'], ['5.'], ['+5'], ['0x10'], ['1_000'], ['1.2.3']])(
    'rejects the string %j, which is not a plain decimal',
    (input) => {
      expect(creditAmountError(() => parseCredits(input)).message).toBe(
        `"${input}" is not a decimal credit amount such as "30" or "0.02"`,
      );
    },
  );

  it.each([['1e3'], ['5e-1'], ['2E2'], ['1.5e+2']])('rejects the exponent string %j', (input) => {
    expect(creditAmountError(() => parseCredits(input)).message).toBe(
      `"${input}" uses exponent notation; write the amount as a plain decimal such as "0.02"`,
    );
  });

  it.each([['1000000000.000001'], [1_000_000_001], ['9999999999'], ['10000000000'], ['123456789012345678901234567890'], [1e21], [2e9]])(
    'rejects %j, above the limit of one billion credits',
    (input) => {
      expect(creditAmountError(() => parseCredits(input)).message).toBe(`"${String(input)}" is above the limit of 1000000000 credits`);
    },
  );
});

describe('formatCredits and microsToCredits', () => {
  it.each([
    [0, '0'],
    [1, '0.000001'],
    [20_000, '0.02'],
    [500_000, '0.5'],
    [1_000_000, '1'],
    [1_500_000, '1.5'],
    [30_000_000, '30'],
    [2_500_000_000, '2500'],
    [123_456_789, '123.456789'],
    [MAX_MICROS, '1000000000'],
    [-1_500_000, '-1.5'],
    [-20_000, '-0.02'],
  ])('formats %i micros as "%s" credits', (micros, text) => {
    expect(formatCredits(micros as Micros)).toBe(text);
    expect(microsToCredits(micros as Micros)).toBe(Number(text));
  });

  it('returns the JSON numbers a user expects for fractional amounts', () => {
    expect(microsToCredits(20_000 as Micros)).toBe(0.02);
    expect(microsToCredits(500_000 as Micros)).toBe(0.5);
    expect(microsToCredits(1 as Micros)).toBe(0.000001);
    expect(JSON.stringify({ balance: microsToCredits(2_499_980_000 as Micros) })).toBe('{"balance":2499.98}');
  });

  it('refuses amounts that are not whole micros', () => {
    expect(() => formatCredits(0.5 as Micros)).toThrow(/safe integer of micros/);
    expect(() => formatCredits(Number.NaN as Micros)).toThrow(/safe integer of micros/);
    expect(() => microsToCredits(2 ** 53 as Micros)).toThrow(/safe integer of micros/);
  });

  it('round-trips every amount: parse(format(m)) and parse(microsToCredits(m)) give m back', () => {
    const samples = [0, 1, 9, 10, 99_999, 100_000, 999_999, 1_000_000, 1_000_001, 20_000, 500_000, MAX_MICROS - 1, MAX_MICROS];
    // A deterministic spread of values over the whole range, including every fractional length.
    const modulus = 2_147_483_647;
    let seed = 12_345;
    for (let i = 0; i < 5_000; i += 1) {
      seed = (seed * 48_271) % modulus; // MINSTD: the product stays far below 2^53
      const magnitude = 10 ** (i % 16);
      samples.push(Math.min(MAX_MICROS, Math.floor((seed / modulus) * magnitude * 10)));
    }
    for (const micros of samples) {
      expect(parseCredits(formatCredits(micros as Micros))).toBe(micros);
      expect(parseCredits(microsToCredits(micros as Micros))).toBe(micros);
    }
  });
});

describe('multiplyMicros', () => {
  const emailPrice = parseCredits('0.02');
  const imagePrice = parseCredits(0.5);

  it('prices 50 product fields at 0.02 as exactly 1 credit', () => {
    const total = multiplyMicros(emailPrice, 50);
    expect(total).toBe(MICROS_PER_CREDIT);
    expect(formatCredits(total)).toBe('1');
  });

  it('prices 3 images at 0.5 as exactly 1.5 credits', () => {
    const total = multiplyMicros(imagePrice, 3);
    expect(total).toBe(1_500_000);
    expect(microsToCredits(total)).toBe(1.5);
  });

  it('prices zero units at zero and one unit at the unit price', () => {
    expect(multiplyMicros(imagePrice, 0)).toBe(0);
    expect(multiplyMicros(imagePrice, 1)).toBe(imagePrice);
  });

  it('allows a product that lands exactly on the limit', () => {
    expect(multiplyMicros((MICROS_PER_CREDIT as Micros), MAX_CREDITS)).toBe(MAX_MICROS);
  });

  it('refuses a product above the limit instead of returning an inexact number', () => {
    expect(creditAmountError(() => multiplyMicros(MAX_MICROS, 2)).message).toBe('2 × 1000000000 credits exceeds the amount limit');
    expect(creditAmountError(() => multiplyMicros((MICROS_PER_CREDIT as Micros), MAX_CREDITS + 1)).message).toBe(
      '1000000001 × 1 credits exceeds the amount limit',
    );
    // Far beyond 2^53: the float product would be silently rounded.
    expect(() => multiplyMicros(MAX_MICROS, 1_000_000_007)).toThrow(CreditAmountError);
    expect(() => multiplyMicros(parseCredits('4'), Number.MAX_SAFE_INTEGER)).toThrow(CreditAmountError);
  });

  it('refuses quantities that are not non-negative integers and prices that are not micros', () => {
    expect(() => multiplyMicros(imagePrice, 1.5)).toThrow('quantity must be a non-negative integer, got 1.5');
    expect(() => multiplyMicros(imagePrice, -1)).toThrow('quantity must be a non-negative integer, got -1');
    expect(() => multiplyMicros(imagePrice, Number.NaN)).toThrow('quantity must be a non-negative integer, got NaN');
    expect(() => multiplyMicros(imagePrice, Number.POSITIVE_INFINITY)).toThrow(/quantity must be a non-negative integer/);
    expect(() => multiplyMicros((0.5 as Micros), 2)).toThrow(/unit price must be a non-negative safe integer of micros/);
    expect(() => multiplyMicros((-1 as Micros), 2)).toThrow(/unit price must be a non-negative safe integer of micros/);
  });
});

describe('summing many fractional charges', () => {
  it('adds 0.02 one hundred thousand times to exactly 2000 credits', () => {
    const price = parseCredits('0.02');
    let total = 0;
    for (let i = 0; i < 100_000; i += 1) total += price;
    expect(total).toBe(2_000 * MICROS_PER_CREDIT);
    expect(formatCredits(total as Micros)).toBe('2000');
    expect(microsToCredits(total as Micros)).toBe(2000);
    expect(multiplyMicros(price, 100_000)).toBe(total);
  });

  it('adds charges of 0.5, 0.02, 0.000001 and 30 credits to exactly 30.520001', () => {
    const charges = [parseCredits(0.5), parseCredits('0.02'), parseCredits('0.000001'), parseCredits(30)];
    const total = charges.reduce((sum, charge) => sum + charge, 0);
    expect(total).toBe(30_520_001);
    expect(formatCredits(total as Micros)).toBe('30.520001');
  });
});
