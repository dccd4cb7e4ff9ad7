import { createRoute } from '@hono/zod-openapi';
import { listEvents } from '../../events/feed.js';
import type { ApiApp, ApiDeps } from '../context.js';
import { errors, json } from '../openapi.js';
import { access } from '../auth.js';
import { CatalogResponse, EventsQuery, EventsResponse } from '../schemas.js';
import { catalogView } from '../views.js';

const getCatalog = createRoute({
  method: 'get',
  path: '/v1/catalog',
  tags: ['catalog'],
  ...access({ scope: 'read', session: 'shared' }),
  summary: 'Features, prices and plans in force',
  responses: { 200: json(CatalogResponse, 'the catalog'), ...errors() },
});

const getEvents = createRoute({
  method: 'get',
  path: '/v1/events',
  tags: ['events'],
  ...access({ scope: 'read' }),
  summary: 'Domain events after a cursor, oldest first',
  description: 'Pass the last page’s nextAfter as `after` to continue. Event ids are stable: webhooks carry the same id in Credits-Event-Id.',
  request: { query: EventsQuery },
  responses: { 200: json(EventsResponse, 'a page of events'), ...errors() },
});

export function feedRoutes(app: ApiApp, deps: ApiDeps): void {
  const catalog = catalogView(deps.catalog);
  app.openapi(getCatalog, (c) => c.json(catalog, 200));
  app.openapi(getEvents, async (c) => {
    const query = c.req.valid('query');
    return c.json(await listEvents(deps.pool, { after: query.after, limit: query.limit, ...(query.accountId ? { accountId: query.accountId } : {}) }), 200);
  });
}
