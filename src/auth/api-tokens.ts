import { createHash, randomBytes } from 'node:crypto';
import type pg from 'pg';
import type { ApiScope } from '../contract/fields.js';

/**
 * API tokens an admin mints (POST /v1/tokens, `credits token create`), kept in `api_tokens` as the
 * SHA-256 of the token only: the token itself is shown once, when it is minted. Revoking keeps the
 * row, so the list still says which scope a token had and until when.
 */

/** What every minted token starts with, so the API looks only these up and secret scanners can spot them. */
export const API_TOKEN_PREFIX = 'ctok_';

export interface StoredApiToken {
  tokenId: string;
  name: string;
  scope: ApiScope;
  createdAt: Date;
  revokedAt: Date | null;
}

export type ApiTokenStore = ReturnType<typeof createApiTokenStore>;

interface TokenRow {
  token_id: string;
  name: string;
  scope: ApiScope;
  created_at: Date;
  revoked_at: Date | null;
}

const COLUMNS = 'token_id, name, scope, created_at, revoked_at';
const sha256 = (token: string): Buffer => createHash('sha256').update(token).digest();
const fromRow = (row: TokenRow): StoredApiToken => ({ tokenId: row.token_id, name: row.name, scope: row.scope, createdAt: row.created_at, revokedAt: row.revoked_at });

/**
 * How long a looked-up token is trusted without asking the database again: a service token that
 * charges thousands of times a second must not cost a query each time. A revocation is immediate
 * on the replica that made it and reaches the others within this time.
 */
export const TOKEN_CACHE_TTL_MS = 10_000;
/** Tokens kept in memory at most; the oldest are dropped first. */
const TOKEN_CACHE_ENTRIES = 10_000;

export function createApiTokenStore(pool: pg.Pool, options: { cacheTtlMs?: number; clockMs?: () => number } = {}) {
  const ttlMs = options.cacheTtlMs ?? TOKEN_CACHE_TTL_MS;
  const clockMs = options.clockMs ?? Date.now;
  // Keyed by the token's hash; unknown tokens are cached too, so a flood of bad ones is not a flood of queries.
  const cache = new Map<string, { token: StoredApiToken | null; until: number }>();
  const remember = (key: string, token: StoredApiToken | null): void => {
    if (cache.size >= TOKEN_CACHE_ENTRIES) cache.delete(cache.keys().next().value ?? '');
    cache.set(key, { token, until: clockMs() + ttlMs });
  };
  return {
    async mint(input: { name: string; scope: ApiScope; now: Date }): Promise<StoredApiToken & { token: string }> {
      const token = `${API_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
      const { rows } = await pool.query<TokenRow>(
        `INSERT INTO api_tokens (token_id, name, scope, secret_sha256, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING ${COLUMNS}`,
        [`tok_${randomBytes(9).toString('base64url')}`, input.name, input.scope, sha256(token), input.now],
      );
      const [row] = rows;
      if (!row) throw new Error('invariant: INSERT ... RETURNING gave no row');
      return { ...fromRow(row), token };
    },

    async list(): Promise<StoredApiToken[]> {
      const { rows } = await pool.query<TokenRow>(`SELECT ${COLUMNS} FROM api_tokens ORDER BY created_at, token_id`);
      return rows.map(fromRow);
    },

    /** The token, revoked from `now` (or since its earlier revocation); null when there is no such token. */
    async revoke(tokenId: string, now: Date): Promise<StoredApiToken | null> {
      const { rows } = await pool.query<TokenRow>(`UPDATE api_tokens SET revoked_at = coalesce(revoked_at, $2) WHERE token_id = $1 RETURNING ${COLUMNS}`, [tokenId, now]);
      for (const [key, entry] of cache) if (entry.token?.tokenId === tokenId) cache.delete(key);
      return rows[0] ? fromRow(rows[0]) : null;
    },

    /** The stored token a bearer token is, revoked or not; null when it is none of them (as of at most TOKEN_CACHE_TTL_MS ago). */
    async find(token: string): Promise<StoredApiToken | null> {
      const hash = sha256(token);
      const key = hash.toString('hex');
      const cached = cache.get(key);
      if (cached && cached.until > clockMs()) return cached.token;
      const { rows } = await pool.query<TokenRow>(`SELECT ${COLUMNS} FROM api_tokens WHERE secret_sha256 = $1`, [hash]);
      const found = rows[0] ? fromRow(rows[0]) : null;
      remember(key, found);
      return found;
    },
  };
}
