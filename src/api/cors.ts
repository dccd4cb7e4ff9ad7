import { cors } from 'hono/cors';
import type { ApiApp } from './context.js';

/**
 * The reads the balance widget (src/ui/widget/credits-balance.ts) makes from the product's pages,
 * another origin than the API's: only these answer cross-origin requests, and only from the origins
 * of CREDITS_WIDGET_ORIGINS. No cookies are involved (a session token is a bearer token the page
 * hands the widget), so the browser is told nothing about credentials.
 */
export const WIDGET_ROUTES = ['/v1/catalog', '/v1/accounts/:accountId', '/v1/accounts/:accountId/usage'] as const;

/**
 * Registered before authentication, so that a preflight (which carries no token) is answered here;
 * an answer the API refuses (a 401 for an expired token) still carries the CORS headers, or the
 * widget could not tell a refused token from an unreachable API.
 */
export function widgetCors(app: ApiApp, origins: readonly string[]): void {
  if (origins.length === 0) return;
  const allowed = cors({
    origin: [...origins],
    allowMethods: ['GET'],
    allowHeaders: ['Authorization'],
    exposeHeaders: ['X-Request-Id', 'Retry-After'],
    maxAge: 600,
  });
  for (const path of WIDGET_ROUTES) app.use(path, allowed);
}
