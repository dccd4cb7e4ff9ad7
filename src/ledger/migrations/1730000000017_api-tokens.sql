-- Up Migration

-- API tokens minted by an admin (POST /v1/tokens, `credits token create`), each with its scope.
-- Only the SHA-256 of a token is kept, so the table (or a backup of it) gives no one a token that
-- works. A fast hash is enough: the tokens are 32 random bytes, not passwords someone could guess.
-- A revoked token keeps its row, so the list still says who had which scope until when.
CREATE TABLE api_tokens (
  token_id      text PRIMARY KEY,
  name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 128),
  scope         text NOT NULL CHECK (scope IN ('admin', 'service', 'read')),
  secret_sha256 bytea NOT NULL UNIQUE CHECK (length(secret_sha256) = 32),
  created_at    timestamptz NOT NULL,
  revoked_at    timestamptz CHECK (revoked_at >= created_at)
);

-- Down Migration
DROP TABLE api_tokens;
