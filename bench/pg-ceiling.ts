/**
 * The machine's ceiling for the charge benchmarks: the same harness and callers, each doing a
 * one-row `UPDATE` in its own transaction on the same PostgreSQL server: one row (`pg.ceiling.hot`,
 * what one hot balance allows when every change commits alone) or a random one of 1,000
 * (`pg.ceiling.spread`). Every `ledger.charge.*` and `http.charge.*` bench prints its
 * `share_of_ceiling` against the matching ceiling, measured once per run (here, or on first need).
 */
import { createPool } from '../src/ledger/db.js';
import { envInt, loadFigures, runLoad, seededRandom, type BenchContext, type Benchmark, type Figure } from './harness.js';

const ROWS = 1000;

export type CeilingName = 'pg.ceiling.hot' | 'pg.ceiling.spread';

const SHAPES: Record<CeilingName, { rows: number; defaultUpdates: number; defaultWarmup: number }> = {
  'pg.ceiling.hot': { rows: 1, defaultUpdates: 20_000, defaultWarmup: 2000 },
  'pg.ceiling.spread': { rows: ROWS, defaultUpdates: 50_000, defaultWarmup: 5000 },
};

/** Each run's ceilings, by run id, so that one is measured once however many benches need it. */
const measured = new Map<string, Map<CeilingName, Promise<Figure[]>>>();

async function measureCeiling(context: BenchContext, name: CeilingName): Promise<Figure[]> {
  const shape = SHAPES[name];
  const callers = envInt('BENCH_CALLERS', 32);
  const updates = envInt('BENCH_CEILING_UPDATES', shape.defaultUpdates);
  const warmup = envInt('BENCH_CEILING_WARMUP', shape.defaultWarmup, 0);
  const table = `bench_ceiling_${context.runId}_${shape.rows}`;
  const pool = createPool({ connectionString: context.databaseUrl, max: callers, applicationName: `bench ${name}` });
  try {
    await pool.query(`CREATE TABLE ${table} (id integer PRIMARY KEY, n bigint NOT NULL)`);
    await pool.query(`INSERT INTO ${table} SELECT id, 0 FROM generate_series(0, ${shape.rows - 1}) AS id`);
    await Promise.all(Array.from({ length: callers }, () => pool.query('SELECT 1')));
    const random = seededRandom(envInt('BENCH_SEED', 1, 0));
    const update = () => pool.query(`UPDATE ${table} SET n = n + 1 WHERE id = $1`, [Math.floor(random() * shape.rows)]);
    if (warmup > 0) await runLoad(callers, warmup, update);
    const result = await runLoad(callers, updates, update);
    const { rows } = await pool.query<{ total: number }>(`SELECT sum(n)::bigint AS total FROM ${table}`);
    if (rows[0]?.total !== warmup + updates) throw new Error(`${name}: ${String(rows[0]?.total)} updates counted, ${warmup + updates} made`);
    context.log(`${name}: ${updates} one-row updates in ${result.seconds.toFixed(2)} s (${shape.rows} row(s), ${callers} callers)`);
    return loadFigures(result, 'updates_per_s');
  } finally {
    await pool.query(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
    await pool.end();
  }
}

/** The ceiling's figures in this run, measured now if no bench measured them yet. */
export function ceilingFigures(context: BenchContext, name: CeilingName): Promise<Figure[]> {
  const ofRun = measured.get(context.runId) ?? new Map<CeilingName, Promise<Figure[]>>();
  measured.set(context.runId, ofRun);
  let figures = ofRun.get(name);
  if (!figures) {
    figures = measureCeiling(context, name);
    ofRun.set(name, figures);
  }
  return figures;
}

/** `share_of_ceiling`: a bench's operations per second over the ceiling's updates per second, in the same run. */
export async function shareOfCeiling(context: BenchContext, name: CeilingName, perSecond: number): Promise<Figure> {
  const ceiling = (await ceilingFigures(context, name)).find((figure) => figure.metric === 'updates_per_s')?.value ?? Number.NaN;
  return { metric: 'share_of_ceiling', value: Math.round((perSecond / ceiling) * 1000) / 1000, unit: 'ratio' };
}

export const ceilingBenchmarks: Benchmark[] = (Object.keys(SHAPES) as CeilingName[]).map((name) => ({
  name,
  description: `one-row UPDATE per transaction on ${SHAPES[name].rows === 1 ? 'one row' : `a random one of ${ROWS} rows`}, BENCH_CALLERS callers: the ceiling of the charge benches`,
  run: (context: BenchContext) => ceilingFigures(context, name),
}));
