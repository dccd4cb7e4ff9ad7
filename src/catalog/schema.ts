import { Duration } from 'luxon';
import { z } from 'zod';
import { CreditAmountError, type Micros, parseCredits } from '../money.js';

const IDENTIFIER = /^[a-z][a-z0-9_.-]{0,63}$/;
const identifier = z.string().regex(IDENTIFIER, 'must be lowercase letters, digits, ".", "_" or "-", starting with a letter');

const credits = z
  .union([z.number(), z.string()], { error: 'must be a credit amount: a number or a decimal string such as "0.02"' })
  .transform((value, ctx): Micros => {
    try {
      return parseCredits(value);
    } catch (error) {
      if (!(error instanceof CreditAmountError)) throw error;
      ctx.addIssue({ code: 'custom', message: error.message });
      return z.NEVER;
    }
  });

const featureSchema = z.strictObject({
  name: z.string().min(1),
  unit: z.string().min(1).default('unit'),
  unitPrice: credits,
  /** Named price variants for actions whose price depends on parameters (e.g. promotion region). */
  variants: z.record(identifier, credits).default({}),
  kind: z.enum(['action', 'enrichment']).default('action'),
  /** Enrichment outcomes that are billed; every other outcome is free. */
  chargeableOutcomes: z.array(z.string().min(1)).min(1).optional(),
  /** Charging the same subject again within this many days of its last billed charge is free. */
  reexportWindowDays: z.number().int().min(1).max(3650).optional(),
  /** Features with the same subject group share one re-export window (e.g. export and push). */
  subjectGroup: identifier.optional(),
});

const isoDuration = z.string().refine((text) => {
  const duration = Duration.fromISO(text);
  return duration.isValid && duration.toMillis() > 0;
}, 'must be a positive ISO-8601 duration such as "P1M" or "PT10S"');

const periodSchema = z.discriminatedUnion('rule', [
  z.strictObject({ rule: z.literal('calendar_month'), dayOfMonth: z.number().int().min(1).max(31).default(1) }),
  z.strictObject({ rule: z.literal('anniversary_months'), months: z.number().int().min(1).max(120).default(1) }),
  z.strictObject({ rule: z.literal('every_n_days'), days: z.number().int().min(1).max(3660) }),
  z.strictObject({ rule: z.literal('duration'), duration: isoDuration }),
]);

const allowanceSchema = z.strictObject({
  credits,
  perSeat: z.boolean().default(false),
  /** Restricts this allowance to paying for these features only (e.g. calling credits). */
  features: z.array(identifier).min(1).optional(),
});

const planSchema = z.strictObject({
  name: z.string().min(1),
  features: z.array(identifier),
  allowances: z.array(allowanceSchema).default([]),
  trialCredits: credits.optional(),
  period: periodSchema,
});

export const catalogSchema = z
  .strictObject({
    version: z.literal(1),
    features: z.record(identifier, featureSchema),
    plans: z.record(identifier, planSchema),
  })
  .superRefine((catalog, ctx) => {
    for (const [featureId, feature] of Object.entries(catalog.features)) {
      if (feature.kind === 'enrichment' && !feature.chargeableOutcomes) {
        ctx.addIssue({ code: 'custom', path: ['features', featureId, 'chargeableOutcomes'], message: 'is required for enrichment features' });
      }
      if (feature.kind === 'action' && feature.chargeableOutcomes) {
        ctx.addIssue({ code: 'custom', path: ['features', featureId, 'chargeableOutcomes'], message: 'only applies to enrichment features' });
      }
      if (feature.subjectGroup && !feature.reexportWindowDays) {
        ctx.addIssue({ code: 'custom', path: ['features', featureId, 'subjectGroup'], message: 'needs reexportWindowDays' });
      }
    }
    const knownFeature = (id: string) => Object.hasOwn(catalog.features, id);
    for (const [planId, plan] of Object.entries(catalog.plans)) {
      plan.features.forEach((featureId, index) => {
        if (!knownFeature(featureId)) {
          ctx.addIssue({ code: 'custom', path: ['plans', planId, 'features', index], message: `unknown feature "${featureId}"` });
        }
      });
      plan.allowances.forEach((allowance, allowanceIndex) => {
        allowance.features?.forEach((featureId, index) => {
          if (!plan.features.includes(featureId)) {
            ctx.addIssue({
              code: 'custom',
              path: ['plans', planId, 'allowances', allowanceIndex, 'features', index],
              message: `"${featureId}" is not one of the plan's features`,
            });
          }
        });
      });
    }
  });

export type CatalogInput = z.input<typeof catalogSchema>;
type ParsedCatalog = z.output<typeof catalogSchema>;
export type FeatureConfig = ParsedCatalog['features'][string];
export type PlanConfig = ParsedCatalog['plans'][string];
export type PeriodRule = PlanConfig['period'];
export type AllowanceConfig = PlanConfig['allowances'][number];
