import { createRoute } from '@hono/zod-openapi';
import type { StoredApiToken } from '../../auth/api-tokens.js';
import { signSessionToken } from '../../auth/session-tokens.js';
import { SESSION_TOKEN_LIMITS } from '../../contract/limits.js';
import { access } from '../auth.js';
import type { ApiApp, ApiDeps } from '../context.js';
import { ApiError } from '../errors.js';
import { errors, json, jsonBody } from '../openapi.js';
import {
  AccountIdParams,
  ApiTokenResponse,
  ApiTokensResponse,
  CreateApiTokenRequest,
  CreatedApiTokenResponse,
  SessionTokenRequest,
  SessionTokenResponse,
  TokenIdParams,
} from '../schemas.js';

/** Credentials: API tokens an admin mints and revokes, and the session tokens a product hands its pages. */

const tags = ['tokens'];

const createToken = createRoute({
  method: 'post',
  path: '/v1/tokens',
  tags,
  ...access({ scope: 'admin' }),
  summary: 'Mint an API token: admin (everything), service (a product backend) or read (reads only)',
  description: 'The answer holds the token, this once: only its hash is stored.',
  request: { body: jsonBody(CreateApiTokenRequest) },
  responses: { 201: json(CreatedApiTokenResponse, 'the token, shown once'), ...errors() },
});

const listTokens = createRoute({
  method: 'get',
  path: '/v1/tokens',
  tags,
  ...access({ scope: 'admin' }),
  summary: 'The minted API tokens, revoked ones too (never the tokens themselves)',
  responses: { 200: json(ApiTokensResponse, 'the tokens'), ...errors() },
});

const revokeToken = createRoute({
  method: 'post',
  path: '/v1/tokens/{tokenId}/revoke',
  tags,
  ...access({ scope: 'admin' }),
  summary: 'Revoke a minted API token: it is refused from now on',
  description: 'Revoking a revoked token answers it as it is.',
  request: { params: TokenIdParams },
  responses: { 200: json(ApiTokenResponse, 'the revoked token'), ...errors('UNKNOWN_TOKEN') },
});

const createSessionToken = createRoute({
  method: 'post',
  path: '/v1/accounts/{accountId}/session-tokens',
  tags,
  ...access({ scope: 'service' }),
  summary: "Mint a short-lived session token for one account, to hand to the account's browser",
  description:
    `Signed and expiring (after ${SESSION_TOKEN_LIMITS.defaultSeconds} s by default, at most ${SESSION_TOKEN_LIMITS.maxSeconds} s). It reads that account only (its GET routes, the catalog) and, with allowTopUp, lets its user buy a top-up for it (the top-up still needs that user to be an admin of the account). It never reaches another account, and cannot mint tokens.`,
  request: { params: AccountIdParams, body: jsonBody(SessionTokenRequest) },
  responses: { 201: json(SessionTokenResponse, 'the session token'), ...errors('UNKNOWN_ACCOUNT') },
});

const tokenView = (token: StoredApiToken) => ({
  tokenId: token.tokenId,
  name: token.name,
  scope: token.scope,
  createdAt: token.createdAt.toISOString(),
  revokedAt: token.revokedAt?.toISOString() ?? null,
});

export function tokenRoutes(app: ApiApp, deps: ApiDeps): void {
  const { tokenStore } = deps;

  app.openapi(createToken, async (c) => {
    const minted = await tokenStore.mint({ ...c.req.valid('json'), now: deps.now() });
    deps.logger.info({ tokenId: minted.tokenId, scope: minted.scope, by: c.var.principal }, 'api token minted');
    return c.json({ ...tokenView(minted), token: minted.token }, 201);
  });

  app.openapi(listTokens, async (c) => c.json({ tokens: (await tokenStore.list()).map(tokenView) }, 200));

  app.openapi(revokeToken, async (c) => {
    const { tokenId } = c.req.valid('param');
    const revoked = await tokenStore.revoke(tokenId, deps.now());
    if (!revoked) throw new ApiError('UNKNOWN_TOKEN', `no API token "${tokenId}"`, { tokenId });
    deps.logger.info({ tokenId, by: c.var.principal }, 'api token revoked');
    return c.json(tokenView(revoked), 200);
  });

  app.openapi(createSessionToken, async (c) => {
    const { accountId } = c.req.valid('param');
    const body = c.req.valid('json');
    // A token for an account that does not exist would only ever answer 404s: refused now instead.
    await deps.ledger.getAccount({ accountId });
    const expiresAt = new Date(deps.now().getTime() + body.expiresInSeconds * 1000);
    const claims = { accountId, userId: body.userId ?? null, allowTopUp: body.allowTopUp, expiresAt };
    return c.json({ token: signSessionToken(deps.sessionSecret, claims), ...claims, expiresAt: expiresAt.toISOString() }, 201);
  });
}
