/**
 * The catalog: the example file models the five seed articles (prices, plan gating, allowances,
 * period rules), and a broken catalog is refused with problems that name the exact key path.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { type Catalog, CatalogError, EXAMPLE_CATALOG_PATH, type Feature, loadCatalog, parseCatalog, type Plan } from '../src/catalog/catalog.js';
import { multiplyMicros, parseCredits } from '../src/money.js';

/** Whole or fractional credits as micros, e.g. credits(0.02) === 20_000. */
const credits = (amount: number): number => parseCredits(amount);

const catalog: Catalog = loadCatalog();

function feature(id: string): Feature {
  const found = catalog.feature(id);
  if (!found) throw new Error(`example catalog has no feature "${id}"`);
  return found;
}

function plan(id: string): Plan {
  const found = catalog.plan(id);
  if (!found) throw new Error(`example catalog has no plan "${id}"`);
  return found;
}

describe('the example catalog', () => {
  it('loads from config/catalog.example.yaml by default', () => {
    expect(EXAMPLE_CATALOG_PATH.endsWith('/config/catalog.example.yaml')).toBe(true);
    const explicit = loadCatalog(EXAMPLE_CATALOG_PATH);
    expect([...explicit.plans.keys()]).toEqual([...catalog.plans.keys()]);
    expect([...explicit.features.keys()]).toEqual([...catalog.features.keys()]);
  });

  it('has the features and plans of the five seeds, each knowing its own id', () => {
    expect([...catalog.features.keys()].sort()).toEqual([
      'ai.custom-image',
      'ai.dynamic-video',
      'ai.feed-field',
      'ai.variable',
      'call.minute',
      'contact.email-check',
      'contact.export',
      'contact.push',
      'email.captured',
      'email.undiscovered',
      'lead.email-finder',
      'lead.linkedin-enrichment',
      'lead.phone-finder',
      'notification.email',
      'promotion.collection-week',
      'promotion.product-week',
    ]);
    expect([...catalog.plans.keys()].sort()).toEqual([
      'bim-basic',
      'bim-premium-global',
      'bim-premium-regional',
      'bim-standard',
      'data-license',
      'demo-fast',
      'ecom-pro',
      'ecom-standard',
      'notify-10k',
      'notify-5k',
      'sales-email-pro',
      'sales-multichannel-expert',
    ]);
    for (const [id, entry] of catalog.features) expect(entry.id).toBe(id);
    for (const [id, entry] of catalog.plans) expect(entry.id).toBe(id);
    expect(catalog.feature('no.such-feature')).toBeUndefined();
    expect(catalog.plan('no-such-plan')).toBeUndefined();
  });

  it('gives every plan only features that exist in the catalog', () => {
    for (const entry of catalog.plans.values()) {
      for (const featureId of entry.features) expect(catalog.feature(featureId), `${entry.id} → ${featureId}`).toBeDefined();
    }
  });

  it('reads the same catalog from a JSON file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'credits-catalog-json-'));
    try {
      const path = join(dir, 'catalog.json');
      writeFileSync(path, JSON.stringify(parseYaml(readFileSync(EXAMPLE_CATALOG_PATH, 'utf8'))));
      const fromJson = loadCatalog(path);
      expect(fromJson.plans).toEqual(catalog.plans);
      expect(fromJson.features).toEqual(catalog.features);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('seed 000: BIM content marketing platform', () => {
  const emailFeatures = ['email.captured', 'email.undiscovered'];

  it('prices emails at 1 credit (captured audience) and 2 credits (undiscovered audience)', () => {
    expect(feature('email.captured')).toMatchObject({ unitPrice: credits(1), unit: 'email', kind: 'action' });
    expect(feature('email.undiscovered')).toMatchObject({ unitPrice: credits(2), unit: 'email', kind: 'action' });
    expect(multiplyMicros(feature('email.captured').unitPrice, 50)).toBe(credits(50));
  });

  it('prices a promoted product-week from 30 credits, with variants that are never cheaper', () => {
    const product = feature('promotion.product-week');
    expect(product.unit).toBe('product-week');
    expect(product.unitPrice).toBe(credits(30));
    expect(product.variants).toEqual({ regional: credits(30), europe: credits(45), global: credits(80) });
    expect(catalog.unitPrice(product)).toBe(credits(30));
    expect(catalog.unitPrice(product, 'europe')).toBe(credits(45));
    expect(catalog.unitPrice(product, 'global')).toBe(credits(80));
    for (const price of Object.values(product.variants)) expect(price).toBeGreaterThanOrEqual(credits(30));
  });

  it('prices a promoted collection-week from 50 credits, with variants that are never cheaper', () => {
    const collection = feature('promotion.collection-week');
    expect(collection.unit).toBe('collection-week');
    expect(collection.unitPrice).toBe(credits(50));
    expect(collection.variants).toEqual({ regional: credits(50), global: credits(120) });
    for (const price of Object.values(collection.variants)) expect(price).toBeGreaterThanOrEqual(credits(50));
  });

  it('has no price for an unknown variant, including inherited object keys', () => {
    const product = feature('promotion.product-week');
    expect(catalog.unitPrice(product, 'mars')).toBeUndefined();
    expect(catalog.unitPrice(product, 'toString')).toBeUndefined();
    expect(catalog.unitPrice(product, '__proto__')).toBeUndefined();
    expect(catalog.unitPrice(feature('email.captured'), 'regional')).toBeUndefined();
  });

  it.each(['bim-basic', 'bim-standard'])('gates %s to promoted products: no email campaigns, no promoted collections', (id) => {
    expect(plan(id).features).toEqual(['promotion.product-week']);
    for (const gated of [...emailFeatures, 'promotion.collection-week']) expect(plan(id).features).not.toContain(gated);
  });

  it.each([
    ['bim-premium-regional', 250],
    ['bim-premium-global', 1000],
  ])('gives %s every marketing feature and %i included credits a month', (id, monthly) => {
    expect([...plan(id).features].sort()).toEqual([...emailFeatures, 'promotion.collection-week', 'promotion.product-week'].sort());
    expect(catalog.allowanceAmounts(plan(id), 1)).toEqual([{ amount: credits(monthly), features: null }]);
  });

  it('includes no credits in Basic and Standard: credits there are bought, not included', () => {
    expect(catalog.allowanceAmounts(plan('bim-basic'), 1)).toEqual([]);
    expect(catalog.allowanceAmounts(plan('bim-standard'), 1)).toEqual([]);
  });

  it.each(['bim-basic', 'bim-standard', 'bim-premium-regional', 'bim-premium-global'])('refreshes %s on the 1st of every month', (id) => {
    expect(plan(id).period).toEqual({ rule: 'calendar_month', dayOfMonth: 1 });
  });

  it('fits the article example: 250 credits cover a 50-user email campaign plus a regional product-week', () => {
    const spend = multiplyMicros(feature('email.captured').unitPrice, 50) + (catalog.unitPrice(feature('promotion.product-week'), 'regional') ?? 0);
    expect(spend).toBe(credits(80));
    expect(spend).toBeLessThanOrEqual(credits(250));
  });
});

describe('seed 001: B2B contact data platform', () => {
  it('charges 1 credit per exported or pushed record', () => {
    expect(feature('contact.export')).toMatchObject({ unitPrice: credits(1), unit: 'record', kind: 'action' });
    expect(feature('contact.push')).toMatchObject({ unitPrice: credits(1), unit: 'record', kind: 'action' });
  });

  it('shares one 30-day re-export window between export and push', () => {
    const exportFeature = feature('contact.export');
    const pushFeature = feature('contact.push');
    expect(exportFeature.reexportWindowDays).toBe(30);
    expect(pushFeature.reexportWindowDays).toBe(30);
    expect(catalog.subjectGroup(exportFeature)).toBe('contact-data');
    expect(catalog.subjectGroup(pushFeature)).toBe(catalog.subjectGroup(exportFeature));
  });

  it('keys features without a subject group by their own id', () => {
    expect(catalog.subjectGroup(feature('email.captured'))).toBe('email.captured');
    expect(feature('email.captured').reexportWindowDays).toBeUndefined();
  });

  it('charges 1 credit for an email check only when a verified address is found', () => {
    expect(feature('contact.email-check')).toMatchObject({
      unitPrice: credits(1),
      kind: 'enrichment',
      chargeableOutcomes: ['verified'],
    });
  });

  it('gives the license its own credits for a 12-month license period', () => {
    const license = plan('data-license');
    expect([...license.features].sort()).toEqual(['contact.email-check', 'contact.export', 'contact.push']);
    expect(catalog.allowanceAmounts(license, 5)).toEqual([{ amount: credits(1000), features: null }]);
    expect(license.period).toEqual({ rule: 'anniversary_months', months: 12 });
  });
});

describe('seed 002: e-commerce AI features', () => {
  it('gives Pro 2500 credits a month on the purchase anniversary', () => {
    const pro = plan('ecom-pro');
    expect(catalog.allowanceAmounts(pro, 1)).toEqual([{ amount: credits(2500), features: null }]);
    expect(pro.period).toEqual({ rule: 'anniversary_months', months: 1 });
    expect([...pro.features].sort()).toEqual(['ai.custom-image', 'ai.dynamic-video', 'ai.feed-field']);
    expect(pro.trialCredits).toBeUndefined();
  });

  it('gives Standard no credits and no AI features', () => {
    const standard = plan('ecom-standard');
    expect(standard.features).toEqual([]);
    expect(catalog.allowanceAmounts(standard, 1)).toEqual([]);
    expect(standard.trialCredits).toBeUndefined();
    expect(standard.period).toEqual({ rule: 'anniversary_months', months: 1 });
  });

  it('stores the fractional prices exactly in micros: 1 per video, 0.5 per image, 0.02 per product field', () => {
    expect(feature('ai.dynamic-video').unitPrice).toBe(1_000_000);
    expect(feature('ai.custom-image').unitPrice).toBe(500_000);
    expect(feature('ai.feed-field').unitPrice).toBe(20_000);
  });

  it('charges 1 credit for two custom images and 1 credit for one field on 50 products', () => {
    expect(multiplyMicros(feature('ai.custom-image').unitPrice, 2)).toBe(credits(1));
    expect(multiplyMicros(feature('ai.feed-field').unitPrice, 50)).toBe(credits(1));
  });
});

describe('seed 003: e-commerce notification app', () => {
  it('charges 1 credit per email', () => {
    expect(feature('notification.email')).toMatchObject({ unitPrice: credits(1), unit: 'email' });
  });

  it.each([
    ['notify-5k', 10_000],
    ['notify-10k', 20_000],
  ])('gives %s %i credits (twice its subscriber limit), valid 30 days from purchase', (id, amount) => {
    expect(plan(id).features).toEqual(['notification.email']);
    expect(catalog.allowanceAmounts(plan(id), 1)).toEqual([{ amount: credits(amount), features: null }]);
    expect(plan(id).period).toEqual({ rule: 'every_n_days', days: 30 });
  });
});

describe('seed 004: sales engagement platform', () => {
  it('prices enrichment by result and actions by use: 5, 1, 20, 4 per minute, 1 per AI request', () => {
    expect(feature('lead.email-finder')).toMatchObject({
      unitPrice: credits(5),
      kind: 'enrichment',
      chargeableOutcomes: ['deliverable', 'risky'],
    });
    expect(feature('lead.linkedin-enrichment')).toMatchObject({ unitPrice: credits(1), kind: 'enrichment' });
    expect(feature('lead.phone-finder')).toMatchObject({ unitPrice: credits(20), kind: 'enrichment' });
    expect(feature('call.minute')).toMatchObject({ unitPrice: credits(4), unit: 'minute', kind: 'action' });
    expect(feature('ai.variable')).toMatchObject({ unitPrice: credits(1), unit: 'request', kind: 'action' });
  });

  it('does not bill an email search that finds nothing', () => {
    const outcomes = feature('lead.email-finder').chargeableOutcomes ?? [];
    expect(outcomes).not.toContain('not_found');
    expect(outcomes).not.toContain('undeliverable');
  });

  it('gives Email Pro 1000 credits per seat a month and a one-time 500-credit trial', () => {
    const emailPro = plan('sales-email-pro');
    expect(emailPro.allowances).toEqual([{ credits: credits(1000), perSeat: true }]);
    expect(emailPro.trialCredits).toBe(credits(500));
    expect(emailPro.period).toEqual({ rule: 'calendar_month', dayOfMonth: 1 });
    expect(emailPro.features).not.toContain('call.minute');
  });

  it('gives Multichannel Expert 1500 credits per seat plus 400 credits that only pay for calls', () => {
    const expert = plan('sales-multichannel-expert');
    expect(expert.allowances).toEqual([
      { credits: credits(1500), perSeat: true },
      { credits: credits(400), perSeat: false, features: ['call.minute'] },
    ]);
    expect(expert.trialCredits).toBe(credits(500));
    expect(expert.features).toContain('call.minute');
    // 400 calling credits are the article's 100 calling minutes.
    expect(multiplyMicros(feature('call.minute').unitPrice, 100)).toBe(credits(400));
  });

  it('multiplies per-seat allowances by the seats and leaves fixed allowances alone', () => {
    const expert = plan('sales-multichannel-expert');
    expect(catalog.allowanceAmounts(expert, 3)).toEqual([
      { amount: credits(4500), features: null },
      { amount: credits(400), features: ['call.minute'] },
    ]);
    expect(catalog.allowanceAmounts(expert, 1)).toEqual([
      { amount: credits(1500), features: null },
      { amount: credits(400), features: ['call.minute'] },
    ]);
    expect(catalog.allowanceAmounts(plan('sales-email-pro'), 7)).toEqual([{ amount: credits(7000), features: null }]);
    expect(catalog.allowanceAmounts(plan('sales-email-pro'), 0)).toEqual([{ amount: 0, features: null }]);
    // Fixed allowances ignore the seat count.
    expect(catalog.allowanceAmounts(plan('ecom-pro'), 12)).toEqual([{ amount: credits(2500), features: null }]);
  });

  it('refuses a seat count that is not a non-negative integer', () => {
    expect(() => catalog.allowanceAmounts(plan('sales-email-pro'), 1.5)).toThrow(/non-negative integer/);
    expect(() => catalog.allowanceAmounts(plan('sales-email-pro'), -2)).toThrow(/non-negative integer/);
  });
});

describe('the demo plan', () => {
  it('renews every ten seconds, for tests and demos', () => {
    const demo = plan('demo-fast');
    expect(demo.period).toEqual({ rule: 'duration', duration: 'PT10S' });
    expect(catalog.allowanceAmounts(demo, 1)).toEqual([{ amount: credits(100), features: null }]);
    expect(demo.trialCredits).toBe(credits(50));
  });
});

/** The example catalog as raw YAML data, freshly parsed so each test may break it differently. */
function exampleRaw(): Record<string, unknown> {
  return asRecord(parseYaml(readFileSync(EXAMPLE_CATALOG_PATH, 'utf8')), '(root)');
}

function asRecord(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${where} is not a mapping`);
  return value as Record<string, unknown>;
}

/** The mapping at `path` inside the raw catalog. */
function at(raw: Record<string, unknown>, ...path: string[]): Record<string, unknown> {
  return path.reduce((node, key) => asRecord(node[key], key), raw);
}

function listAt(raw: Record<string, unknown>, key: string, ...path: string[]): unknown[] {
  const value = at(raw, ...path)[key];
  if (!Array.isArray(value)) throw new Error(`${key} is not a list`);
  return value;
}

/** Problems reported for the example catalog after `breakIt`; fails the test if it still parses. */
function problemsAfter(breakIt: (raw: Record<string, unknown>) => void): readonly string[] {
  const raw = exampleRaw();
  breakIt(raw);
  try {
    parseCatalog(raw);
  } catch (error) {
    expect(error).toBeInstanceOf(CatalogError);
    return (error as CatalogError).problems;
  }
  throw new Error('expected the broken catalog to be refused');
}

describe('catalog errors name the exact key path and what is wrong', () => {
  it('accepts the unmodified example data (the baseline every broken case starts from)', () => {
    expect(() => parseCatalog(exampleRaw())).not.toThrow();
  });

  it.each([[0.1234567], ['0.1234567']])('refuses a price of %j, which has 7 decimals', (price) => {
    expect(
      problemsAfter((raw) => {
        at(raw, 'features', 'ai.custom-image').unitPrice = price;
      }),
    ).toEqual([
      'features["ai.custom-image"].unitPrice: "0.1234567" has more than 6 decimals, so it cannot be represented exactly in micro-credits',
    ]);
  });

  it('refuses a price variant with 7 decimals', () => {
    expect(
      problemsAfter((raw) => {
        at(raw, 'features', 'promotion.product-week', 'variants').europe = 45.0000001;
      }),
    ).toEqual([
      'features["promotion.product-week"].variants.europe: "45.0000001" has more than 6 decimals, so it cannot be represented exactly in micro-credits',
    ]);
  });

  it('refuses a negative price', () => {
    expect(
      problemsAfter((raw) => {
        at(raw, 'features', 'ai.custom-image').unitPrice = -0.5;
      }),
    ).toEqual(['features["ai.custom-image"].unitPrice: "-0.5" is negative; credit amounts cannot be below zero']);
  });

  it('refuses a price in exponent notation and a price above the limit', () => {
    expect(
      problemsAfter((raw) => {
        at(raw, 'features', 'ai.custom-image').unitPrice = '5e-1';
        at(raw, 'features', 'call.minute').unitPrice = 2_000_000_000;
      }),
    ).toEqual([
      'features["ai.custom-image"].unitPrice: "5e-1" uses exponent notation; write the amount as a plain decimal such as "0.02"',
      'features["call.minute"].unitPrice: "2000000000" is above the limit of 1000000000 credits',
    ]);
  });

  it('refuses a price that is neither a number nor a decimal string', () => {
    expect(
      problemsAfter((raw) => {
        at(raw, 'features', 'ai.custom-image').unitPrice = null;
      }),
    ).toEqual(['features["ai.custom-image"].unitPrice: must be a credit amount: a number or a decimal string such as "0.02"']);
  });

  it('refuses a 7-decimal allowance and trial amount', () => {
    expect(
      problemsAfter((raw) => {
        at(raw, 'plans', 'sales-email-pro').trialCredits = '500.0000001';
        asRecord(listAt(raw, 'allowances', 'plans', 'ecom-pro')[0], 'allowance').credits = 2500.0000001;
      }),
    ).toEqual([
      'plans["ecom-pro"].allowances[0].credits: "2500.0000001" has more than 6 decimals, so it cannot be represented exactly in micro-credits',
      'plans["sales-email-pro"].trialCredits: "500.0000001" has more than 6 decimals, so it cannot be represented exactly in micro-credits',
    ]);
  });

  it('refuses a plan that lists an unknown feature', () => {
    expect(
      problemsAfter((raw) => {
        listAt(raw, 'features', 'plans', 'bim-premium-regional').push('email.capturd');
      }),
    ).toEqual(['plans["bim-premium-regional"].features[4]: unknown feature "email.capturd"']);
  });

  it('refuses an unknown key (a typo) at its own path', () => {
    expect(
      problemsAfter((raw) => {
        at(raw, 'features', 'ai.custom-image').unitPrize = 0.5;
      }),
    ).toEqual(['features["ai.custom-image"].unitPrize: unknown key']);
  });

  it('reports a misspelt required key both as unknown and as missing', () => {
    expect(
      problemsAfter((raw) => {
        const image = at(raw, 'features', 'ai.custom-image');
        image.unitPrize = image.unitPrice;
        delete image.unitPrice;
      }),
    ).toEqual(['features["ai.custom-image"].unitPrice: is required', 'features["ai.custom-image"].unitPrize: unknown key']);
  });

  it('refuses unknown keys in plans and at the top level', () => {
    expect(
      problemsAfter((raw) => {
        at(raw, 'plans', 'ecom-pro').allowance = [];
        raw.plan = {};
      }),
    ).toEqual(['plans["ecom-pro"].allowance: unknown key', 'plan: unknown key']);
  });

  it('refuses an enrichment feature without chargeableOutcomes', () => {
    expect(
      problemsAfter((raw) => {
        delete at(raw, 'features', 'lead.email-finder').chargeableOutcomes;
      }),
    ).toEqual(['features["lead.email-finder"].chargeableOutcomes: is required for enrichment features']);
  });

  it('refuses chargeableOutcomes on an action feature', () => {
    expect(
      problemsAfter((raw) => {
        at(raw, 'features', 'call.minute').chargeableOutcomes = ['connected'];
      }),
    ).toEqual(['features["call.minute"].chargeableOutcomes: only applies to enrichment features']);
  });

  it('refuses a subject group without a re-export window', () => {
    expect(
      problemsAfter((raw) => {
        delete at(raw, 'features', 'contact.push').reexportWindowDays;
      }),
    ).toEqual(['features["contact.push"].subjectGroup: needs reexportWindowDays']);
  });

  it.each([['10 seconds'], ['P'], ['PT0S'], ['-PT10S'], ['10S']])('refuses the period duration %j', (duration) => {
    expect(
      problemsAfter((raw) => {
        at(raw, 'plans', 'demo-fast', 'period').duration = duration;
      }),
    ).toEqual(['plans["demo-fast"].period.duration: must be a positive ISO-8601 duration such as "P1M" or "PT10S"']);
  });

  it('refuses an unknown period rule', () => {
    expect(
      problemsAfter((raw) => {
        at(raw, 'plans', 'notify-5k').period = { rule: 'weekly' };
      }),
    ).toEqual([
      `plans["notify-5k"].period.rule: Invalid discriminator value. Expected 'calendar_month' | 'anniversary_months' | 'every_n_days' | 'duration'`,
    ]);
  });

  it('refuses a plan without a period', () => {
    expect(
      problemsAfter((raw) => {
        delete at(raw, 'plans', 'notify-5k').period;
      }),
    ).toEqual(['plans["notify-5k"].period: is required']);
  });

  it('refuses an allowance restricted to a feature that is not in the plan', () => {
    expect(
      problemsAfter((raw) => {
        listAt(raw, 'allowances', 'plans', 'sales-email-pro').push({ credits: 400, features: ['call.minute'] });
      }),
    ).toEqual([`plans["sales-email-pro"].allowances[1].features[0]: "call.minute" is not one of the plan's features`]);
  });

  it('refuses an identifier that is not lowercase', () => {
    expect(
      problemsAfter((raw) => {
        at(raw, 'features')['AI Image'] = { name: 'Image', unitPrice: 1 };
      }),
    ).toEqual(['features["AI Image"]: invalid key: must be lowercase letters, digits, ".", "_" or "-", starting with a letter']);
  });

  it('refuses an unsupported version', () => {
    expect(
      problemsAfter((raw) => {
        raw.version = 2;
      }),
    ).toEqual(['version: Invalid input: expected 1']);
  });

  it('lists every problem in one error, with the source in the message', () => {
    const raw = exampleRaw();
    at(raw, 'features', 'ai.custom-image').unitPrice = -1;
    at(raw, 'features', 'ai.feed-field').unitPrice = '0.0200001';
    let caught: unknown;
    try {
      parseCatalog(raw, 'tenant.yaml');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(CatalogError);
    const error = caught as CatalogError;
    expect(error.source).toBe('tenant.yaml');
    expect(error.problems).toHaveLength(2);
    expect(error.message).toBe(
      'invalid catalog tenant.yaml:\n' +
        '  - features["ai.custom-image"].unitPrice: "-1" is negative; credit amounts cannot be below zero\n' +
        '  - features["ai.feed-field"].unitPrice: "0.0200001" has more than 6 decimals, so it cannot be represented exactly in micro-credits',
    );
  });
});

describe('catalog files that cannot be read', () => {
  const dir = mkdtempSync(join(tmpdir(), 'credits-catalog-'));
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  function loadError(path: string): CatalogError {
    try {
      loadCatalog(path);
    } catch (error) {
      expect(error).toBeInstanceOf(CatalogError);
      return error as CatalogError;
    }
    throw new Error(`expected loading ${path} to fail`);
  }

  it('reports a missing file with its path', () => {
    const path = join(dir, 'missing.yaml');
    const error = loadError(path);
    expect(error.source).toBe(path);
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]).toMatch(/^cannot read the file: ENOENT: no such file or directory/);
    expect(error.problems[0]).toContain(path);
  });

  it('reports a directory given as the catalog file', () => {
    const path = join(dir, 'a-directory');
    mkdirSync(path);
    const error = loadError(path);
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]).toMatch(/^cannot read the file: EISDIR/);
  });

  it('reports invalid YAML with its line and column', () => {
    const path = join(dir, 'broken.yaml');
    writeFileSync(path, 'version: 1\nfeatures: {email: 1\nplans: {}\n');
    const error = loadError(path);
    expect(error.source).toBe(path);
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]).toMatch(/^not valid YAML or JSON: .* at line \d+, column \d+/);
  });

  it('reports a duplicated key as invalid YAML rather than silently keeping one value', () => {
    const path = join(dir, 'duplicate.yaml');
    writeFileSync(path, 'version: 1\nfeatures: {}\nplans: {}\nplans: {}\n');
    expect(loadError(path).problems[0]).toMatch(/^not valid YAML or JSON: Map keys must be unique at line 4, column 1/);
  });

  it('reports an empty file as a missing catalog at the root', () => {
    const path = join(dir, 'empty.yaml');
    writeFileSync(path, '');
    expect(loadError(path).problems).toEqual(['(root): Invalid input: expected object, received null']);
  });

  it('reports schema problems of a readable file under the file path', () => {
    const path = join(dir, 'bad-price.yaml');
    writeFileSync(
      path,
      [
        'version: 1',
        'features:',
        '  ai.custom-image: { name: Custom image, unit: image, unitPrice: 0.0000005 }',
        'plans:',
        '  pro: { name: Pro, features: [ai.custom-image], period: { rule: every_n_days, days: 30 } }',
        '',
      ].join('\n'),
    );
    const error = loadError(path);
    expect(error.source).toBe(path);
    expect(error.problems).toEqual([
      'features["ai.custom-image"].unitPrice: "5e-7" has more than 6 decimals, so it cannot be represented exactly in micro-credits',
    ]);
    expect(error.message.startsWith(`invalid catalog ${path}:\n`)).toBe(true);
  });

  it('loads a minimal valid file with the documented defaults', () => {
    const path = join(dir, 'minimal.yaml');
    writeFileSync(
      path,
      [
        'version: 1',
        'features:',
        '  ai.custom-image: { name: Custom image, unitPrice: "0.5" }',
        'plans:',
        '  pro: { name: Pro, features: [ai.custom-image], period: { rule: calendar_month } }',
        '',
      ].join('\n'),
    );
    const minimal = loadCatalog(path);
    expect(minimal.feature('ai.custom-image')).toEqual({
      id: 'ai.custom-image',
      name: 'Custom image',
      unit: 'unit',
      unitPrice: 500_000,
      variants: {},
      kind: 'action',
    });
    expect(minimal.plan('pro')).toEqual({
      id: 'pro',
      name: 'Pro',
      features: ['ai.custom-image'],
      allowances: [],
      period: { rule: 'calendar_month', dayOfMonth: 1 },
    });
  });
});
