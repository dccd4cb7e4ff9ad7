import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { multiplyMicros, type Micros } from '../money.js';
import { catalogSchema, type FeatureConfig, type PlanConfig } from './schema.js';

export const EXAMPLE_CATALOG_PATH = fileURLToPath(new URL('../../config/catalog.example.yaml', import.meta.url));

export class CatalogError extends Error {
  override readonly name = 'CatalogError';
  constructor(
    readonly source: string,
    readonly problems: readonly string[],
  ) {
    super(`invalid catalog ${source}:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
  }
}

export interface Feature extends FeatureConfig {
  readonly id: string;
}

export interface Plan extends PlanConfig {
  readonly id: string;
}

/** Features, prices and plans in force: validated once, then read-only. */
export class Catalog {
  readonly features: ReadonlyMap<string, Feature>;
  readonly plans: ReadonlyMap<string, Plan>;

  constructor(features: ReadonlyMap<string, Feature>, plans: ReadonlyMap<string, Plan>) {
    this.features = features;
    this.plans = plans;
  }

  feature(id: string): Feature | undefined {
    return this.features.get(id);
  }

  plan(id: string): Plan | undefined {
    return this.plans.get(id);
  }

  /** Price of one unit, in micros; an unknown variant is a caller error reported by the ledger. */
  unitPrice(feature: Feature, variant?: string): Micros | undefined {
    if (variant === undefined) return feature.unitPrice;
    return Object.hasOwn(feature.variants, variant) ? feature.variants[variant] : undefined;
  }

  /** Ids of the plans that include a feature: what the ledger's gating (in SQL) checks an account's plan against. */
  plansWith(feature: Feature): string[] {
    let plans = this.plansByFeature.get(feature.id);
    if (!plans) {
      plans = [...this.plans.values()].filter((plan) => plan.features.includes(feature.id)).map((plan) => plan.id);
      this.plansByFeature.set(feature.id, plans);
    }
    return plans;
  }

  private readonly plansByFeature = new Map<string, string[]>();

  /** Key of the re-export window a feature bills subjects under; a group shares one window. */
  subjectGroup(feature: Feature): string {
    return feature.subjectGroup ?? feature.id;
  }

  /** Credits a plan's allowances grant per period, each allowance as its own grant. */
  allowanceAmounts(plan: Plan, seats: number): { amount: Micros; features: readonly string[] | null }[] {
    return plan.allowances.map((allowance) => ({
      amount: allowance.perSeat ? multiplyMicros(allowance.credits, seats) : allowance.credits,
      features: allowance.features ?? null,
    }));
  }
}

export function parseCatalog(raw: unknown, source = 'catalog'): Catalog {
  // reportInput lets describeIssue tell a missing key from a wrong value.
  const result = catalogSchema.safeParse(raw, { reportInput: true });
  if (!result.success) throw new CatalogError(source, result.error.issues.flatMap(describeIssue));
  const features = new Map(Object.entries(result.data.features).map(([id, feature]) => [id, { id, ...feature }]));
  const plans = new Map(Object.entries(result.data.plans).map(([id, plan]) => [id, { id, ...plan }]));
  return new Catalog(features, plans);
}

export function loadCatalog(path: string = EXAMPLE_CATALOG_PATH): Catalog {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new CatalogError(path, [`cannot read the file: ${(error as Error).message}`]);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    throw new CatalogError(path, [`not valid YAML or JSON: ${(error as Error).message}`]);
  }
  return parseCatalog(raw, path);
}

function describeIssue(issue: z.core.$ZodIssue): string[] {
  // An unknown key (often a typo) is reported at its own path, one problem per key.
  if (issue.code === 'unrecognized_keys') return issue.keys.map((key) => `${formatPath([...issue.path, key])}: unknown key`);
  const where = issue.path.length === 0 ? '(root)' : formatPath(issue.path);
  if (issue.path.length > 0 && 'input' in issue && issue.input === undefined) return [`${where}: is required`];
  if (issue.code === 'invalid_key') return [`${where}: invalid key: ${issue.issues.map((inner) => inner.message).join('; ')}`];
  return [`${where}: ${issue.message}`];
}

function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((key, index) => {
      if (typeof key === 'number') return `[${key}]`;
      const name = String(key);
      if (/^[A-Za-z_$][\w$]*$/.test(name)) return index === 0 ? name : `.${name}`;
      return `[${JSON.stringify(name)}]`;
    })
    .join('');
}
