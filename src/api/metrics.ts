/**
 * The API's side of the metrics (src/metrics/metrics.ts, README "Metrics"): every answer counted
 * and timed by route pattern, and `GET /metrics`, which serves the process's metrics and what the
 * database says of the whole deployment (jobs running and paused, boundaries not crossed).
 */
import type { Context, MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import { isDatabaseUnavailable } from '../ledger/db.js';
import { createDatabaseGauges, httpMetrics, METRICS_CONTENT_TYPE, processMetricsText, type DatabaseGauges } from '../metrics/metrics.js';
import { access, authenticate } from './auth.js';
import type { ApiApp, ApiDeps, AppEnv } from './context.js';

/** A scrape waits this long for the database, then answers without its gauges rather than time out whole. */
const DATABASE_GAUGES_TIMEOUT_MS = 2_000;

/** The pattern of the route that answered (`/v1/accounts/:accountId/charges`): bounded, unlike the path. Middleware (method ALL) matches any path, so it is skipped. */
function routeOf(c: Context<AppEnv>): string {
  const routes = matchedRoutes(c);
  for (let index = routes.length - 1; index >= 0; index--) {
    const route = routes[index];
    if (route && route.method !== 'ALL') return route.path;
  }
  return 'unmatched';
}

/** Counts and times every answer, refusals included: the 402 rate is `credits_http_responses_total{status="402"}` over all. */
export function recordHttpMetrics(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now();
    await next();
    const route = routeOf(c);
    httpMetrics.responses.inc({ method: c.req.method, route, status: c.res.status });
    httpMetrics.duration.observe({ method: c.req.method, route }, (performance.now() - started) / 1000);
  };
}

/** The work's result, or undefined once `ms` have passed (the work goes on; its outcome is dropped). */
function within<T>(work: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => {
      resolve(undefined);
    }, ms);
  });
  return Promise.race([work, late]).finally(() => {
    clearTimeout(timer);
  });
}

/** The deployment's gauges as Prometheus text, or nothing when the database cannot say: absent, not stale or zero. */
async function databaseMetricsText(deps: ApiDeps, gauges: DatabaseGauges): Promise<string> {
  const now = deps.now();
  const read = await within(Promise.all([deps.jobs.backlog(), deps.ledger.overdueBoundaries({ now })]), DATABASE_GAUGES_TIMEOUT_MS).catch((error: unknown) => {
    // An outage is the health watch's to log, once per change; anything else is a fault of these queries.
    if (!isDatabaseUnavailable(error)) deps.logger.warn({ err: error }, 'metrics: the database gauges could not be read');
    return undefined;
  });
  if (read === undefined) {
    // Late or failed: the database may be going, which the health watch should know before its next tick.
    deps.health.checkSoon();
    return '';
  }
  const [backlog, boundaries] = read;
  gauges.jobsRunning.set(backlog.running);
  for (const [reason, jobs] of Object.entries(backlog.paused)) gauges.jobsPaused.set({ reason }, jobs);
  gauges.recordsPending.set(backlog.pendingRecords);
  gauges.pastBoundary.set(boundaries.accounts);
  gauges.boundaryOverdue.set(boundaries.oldest ? Math.max(0, now.getTime() - boundaries.oldest.getTime()) / 1000 : 0);
  return gauges.registry.metrics();
}

/**
 * `GET /metrics` in Prometheus text format, outside /v1 and the OpenAPI document. By
 * `metricsAccess`: open like /health (it names no account or user), for an API token of any scope
 * (a scraper's bearer token; never a session token), or not served at all.
 */
export function metricsRoute(app: ApiApp, deps: ApiDeps): void {
  if (deps.metricsAccess === 'off') return;
  const gauges = createDatabaseGauges();
  if (deps.metricsAccess === 'token') app.use('/metrics', authenticate(deps), access({ scope: 'read' }).middleware);
  app.get('/metrics', async (c) => {
    const [own, deployment] = await Promise.all([processMetricsText(), databaseMetricsText(deps, gauges)]);
    return c.body(own + deployment, 200, { 'Content-Type': METRICS_CONTENT_TYPE });
  });
}
