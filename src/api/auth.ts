import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { API_TOKEN_PREFIX } from '../auth/api-tokens.js';
import { SESSION_TOKEN_PREFIX, verifySessionToken } from '../auth/session-tokens.js';
import { API_SCOPES, type ApiScope } from '../contract/fields.js';
import type { ApiApp, ApiDeps, AppEnv, Principal } from './context.js';
import { ApiError } from './errors.js';

const digest = (token: string): Buffer => createHash('sha256').update(token).digest();

/**
 * Who may call a route, declared once per route by spreading `access(...)` into its createRoute:
 * the least API token `scope` (admin covers service, service covers read), and whether an account's
 * session token may call it too: `account` for its own account's reads (the path's {accountId}),
 * `top-up` for a top-up of its account by its user when minted with allowTopUp, `shared` for what
 * is the same for every account (the catalog). Without `session`, session tokens are refused.
 */
export interface Access {
  scope: ApiScope;
  session?: 'account' | 'top-up' | 'shared';
}

/** The security arrays `access` made: the check at start-up knows a route's declaration by them. */
const declared = new WeakSet<object>();

/**
 * A route's access as OpenAPI states it (the scope as the bearer scheme's role, a session token as an
 * alternative scheme) and as the API enforces it (a middleware that runs before the route validates
 * its input), from the one declaration.
 */
export function access(rule: Access) {
  const security = [{ bearer: [rule.scope] }, ...(rule.session ? [{ session: [rule.session] }] : [])];
  declared.add(security);
  return { security, middleware: authorize(rule) };
}

/**
 * Refuses to serve an API with a /v1 route that declares no access: a route without one would be
 * open to every token, session tokens included.
 */
export function requireAccessOnEveryRoute(app: ApiApp): void {
  const undeclared = app.openAPIRegistry.definitions.flatMap((definition) =>
    definition.type === 'route' && definition.route.path.startsWith('/v1/') && !(definition.route.security && declared.has(definition.route.security))
      ? [`${definition.route.method.toUpperCase()} ${definition.route.path}`]
      : [],
  );
  if (undeclared.length > 0) throw new Error(`every /v1 route declares who may call it (spread access(...) into its createRoute); these do not: ${undeclared.join(', ')}`);
}

/**
 * Authenticates every /v1 request: one of API_TOKENS (compared as digests in constant time, so
 * timing reveals nothing about them), an account's session token (its signature and expiry), or a
 * minted token (by its hash; revoked ones refused). Which routes the caller may use is each route's
 * `access`.
 */
export function authenticate(deps: Pick<ApiDeps, 'tokens' | 'tokenStore' | 'sessionSecret' | 'now'>): MiddlewareHandler<AppEnv> {
  const configured = deps.tokens.map((entry) => ({ scope: entry.scope, digest: digest(entry.token) }));

  async function principalOf(token: string): Promise<Principal> {
    const presented = digest(token);
    const match = configured.find((entry) => timingSafeEqual(entry.digest, presented));
    if (match) return { kind: 'token', scope: match.scope, tokenId: null };
    if (token.startsWith(SESSION_TOKEN_PREFIX)) {
      const verdict = verifySessionToken(deps.sessionSecret, token, deps.now());
      if ('refused' in verdict) throw new ApiError('UNAUTHORIZED', verdict.refused);
      return { kind: 'session', claims: verdict.claims };
    }
    const stored = token.startsWith(API_TOKEN_PREFIX) ? await deps.tokenStore.find(token) : null;
    if (stored?.revokedAt) {
      throw new ApiError('UNAUTHORIZED', `token ${stored.tokenId} was revoked at ${stored.revokedAt.toISOString()}`, { tokenId: stored.tokenId });
    }
    if (stored) return { kind: 'token', scope: stored.scope, tokenId: stored.tokenId };
    throw new ApiError('UNAUTHORIZED', 'missing or invalid bearer token: send Authorization: Bearer <token>');
  }

  return async (c, next) => {
    const match = /^Bearer +(\S+) *$/i.exec(c.req.header('authorization') ?? '');
    if (!match?.[1]) throw new ApiError('UNAUTHORIZED', 'missing or invalid bearer token: send Authorization: Bearer <token>');
    c.set('principal', await principalOf(match[1]));
    await next();
  };
}

/** Whether a token of scope `held` may do what needs `needed`: API_SCOPES lists the broadest first. */
const covers = (held: ApiScope, needed: ApiScope): boolean => API_SCOPES.indexOf(held) <= API_SCOPES.indexOf(needed);

function authorize(rule: Access): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const principal = c.var.principal;
    if (principal.kind === 'token') {
      if (!covers(principal.scope, rule.scope)) {
        throw new ApiError('FORBIDDEN', `this route needs a token of scope ${rule.scope}${rule.scope === 'admin' ? '' : ' or broader'}; this one is ${principal.scope}`, {
          required: rule.scope,
          scope: principal.scope,
        });
      }
      return next();
    }
    const { claims } = principal;
    if (!rule.session) {
      throw new ApiError('FORBIDDEN', `a session token cannot call this route: it needs an API token of scope ${rule.scope}`, { required: rule.scope, scope: 'session' });
    }
    if (rule.session !== 'shared' && c.req.param('accountId') !== claims.accountId) {
      throw new ApiError('FORBIDDEN', `this session token is for account "${claims.accountId}" only`, { accountId: claims.accountId, scope: 'session' });
    }
    if (rule.session === 'top-up') {
      if (!claims.allowTopUp || claims.userId === null) {
        throw new ApiError('FORBIDDEN', 'this session token may not buy top-ups: mint one with allowTopUp', { required: 'allowTopUp', scope: 'session' });
      }
      // The body is read here (hono keeps it for the route's validator) so that the rule stays in this one place.
      const body: unknown = await c.req.json().catch(() => undefined);
      const buyer = typeof body === 'object' && body !== null && 'userId' in body ? body.userId : undefined;
      if (buyer !== claims.userId) {
        throw new ApiError('FORBIDDEN', `this session token buys top-ups as user "${claims.userId}" only`, { userId: claims.userId, scope: 'session' });
      }
    }
    return next();
  };
}
