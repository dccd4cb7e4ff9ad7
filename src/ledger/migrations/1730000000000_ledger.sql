-- Up Migration

-- The ledger's rules live here as constraints and triggers, so that no code path (including a buggy
-- one) can overdraw a grant, spend an expired credit, or rewrite history.

CREATE TABLE accounts (
  account_id text PRIMARY KEY CHECK (account_id ~ '^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$'),
  plan_id    text NOT NULL CHECK (length(plan_id) BETWEEN 1 AND 64),
  seats      integer NOT NULL CHECK (seats BETWEEN 1 AND 100000),
  time_zone  text NOT NULL,
  status     text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'cancelling', 'cancelled')),
  created_at timestamptz NOT NULL
);

CREATE TABLE account_users (
  account_id      text NOT NULL REFERENCES accounts,
  user_id         text NOT NULL CHECK (length(user_id) BETWEEN 1 AND 128),
  role            text NOT NULL CHECK (role IN ('admin', 'member')),
  credits_allowed boolean NOT NULL,
  updated_at      timestamptz NOT NULL,
  PRIMARY KEY (account_id, user_id)
);

-- One row per idempotent mutation. A replay with the same key finds this row and its result.
CREATE TABLE operations (
  operation_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  account_id      text NOT NULL REFERENCES accounts,
  idempotency_key text NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 256),
  kind            text NOT NULL CHECK (kind IN ('grant', 'top_up', 'charge', 'hold', 'hold_extend', 'hold_charge')),
  request_hash    text NOT NULL,
  user_id         text,
  feature         text,
  job_id          text,
  credits         bigint NOT NULL DEFAULT 0 CHECK (credits >= 0),
  quantity        bigint NOT NULL DEFAULT 0 CHECK (quantity >= 0),
  result          jsonb,
  occurred_at     timestamptz NOT NULL,
  UNIQUE (account_id, idempotency_key),
  UNIQUE (operation_id, account_id)
);
CREATE INDEX operations_usage ON operations (account_id, occurred_at) WHERE kind IN ('charge', 'hold_charge');

CREATE TABLE grants (
  grant_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  account_id   text NOT NULL REFERENCES accounts,
  operation_id bigint NOT NULL UNIQUE,
  source       text NOT NULL CHECK (source IN ('allowance', 'trial', 'purchase', 'promo', 'adjustment')),
  amount       bigint NOT NULL CHECK (amount > 0),
  remaining    bigint NOT NULL DEFAULT 0 CHECK (remaining >= 0),
  held         bigint NOT NULL DEFAULT 0 CHECK (held >= 0),
  priority     integer NOT NULL,
  effective_at timestamptz NOT NULL,
  expires_at   timestamptz CHECK (expires_at > effective_at),
  features     text[] CHECK (features IS NULL OR cardinality(features) > 0),
  expired_at   timestamptz,
  created_at   timestamptz NOT NULL,
  CONSTRAINT grants_no_overdraft CHECK (remaining <= amount AND held <= remaining),
  CONSTRAINT grants_expired_are_empty CHECK (expired_at IS NULL OR (remaining = 0 AND held = 0)),
  UNIQUE (grant_id, account_id),
  FOREIGN KEY (operation_id, account_id) REFERENCES operations (operation_id, account_id)
);
-- A free trial is granted once per account, ever.
CREATE UNIQUE INDEX grants_one_trial_per_account ON grants (account_id) WHERE source = 'trial';
CREATE INDEX grants_live ON grants (account_id, priority, expires_at) WHERE expired_at IS NULL;

CREATE TABLE holds (
  hold_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  account_id   text NOT NULL REFERENCES accounts,
  operation_id bigint NOT NULL UNIQUE,
  feature      text NOT NULL,
  user_id      text NOT NULL,
  job_id       text,
  released_at  timestamptz,
  created_at   timestamptz NOT NULL,
  UNIQUE (hold_id, account_id),
  FOREIGN KEY (operation_id, account_id) REFERENCES operations (operation_id, account_id)
);

-- Credits a hold earmarks on each grant; maintained only by the ledger_entries trigger.
CREATE TABLE hold_allocations (
  hold_id  bigint NOT NULL REFERENCES holds,
  grant_id bigint NOT NULL REFERENCES grants,
  held     bigint NOT NULL CHECK (held >= 0),
  PRIMARY KEY (hold_id, grant_id)
);

-- Append-only. Every grant's remaining and held, and every allocation's held, is the sum of its
-- entries; the trigger below applies each entry, and the audit recomputes them from scratch.
CREATE TABLE ledger_entries (
  entry_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  account_id   text NOT NULL,
  operation_id bigint,
  grant_id     bigint NOT NULL,
  hold_id      bigint,
  kind         text NOT NULL CHECK (kind IN ('grant', 'charge', 'hold', 'release', 'expire')),
  amount       bigint NOT NULL,
  held_change  bigint NOT NULL,
  occurred_at  timestamptz NOT NULL,
  FOREIGN KEY (grant_id, account_id) REFERENCES grants (grant_id, account_id),
  FOREIGN KEY (hold_id, account_id) REFERENCES holds (hold_id, account_id),
  FOREIGN KEY (operation_id, account_id) REFERENCES operations (operation_id, account_id),
  CONSTRAINT ledger_entries_shape CHECK (
    CASE kind
      WHEN 'grant'   THEN amount > 0 AND held_change = 0 AND hold_id IS NULL AND operation_id IS NOT NULL
      WHEN 'charge'  THEN amount < 0 AND operation_id IS NOT NULL
                          AND ((hold_id IS NULL AND held_change = 0) OR (hold_id IS NOT NULL AND held_change = amount))
      WHEN 'hold'    THEN amount = 0 AND held_change > 0 AND hold_id IS NOT NULL AND operation_id IS NOT NULL
      WHEN 'release' THEN amount = 0 AND held_change < 0 AND hold_id IS NOT NULL
      WHEN 'expire'  THEN amount < 0 AND held_change <= 0 AND held_change >= amount
                          AND (hold_id IS NOT NULL OR held_change = 0)
    END
  )
);
CREATE INDEX ledger_entries_account ON ledger_entries (account_id, entry_id);
CREATE INDEX ledger_entries_grant ON ledger_entries (grant_id);
CREATE INDEX ledger_entries_hold ON ledger_entries (hold_id) WHERE hold_id IS NOT NULL;
CREATE INDEX ledger_entries_operation ON ledger_entries (operation_id);

CREATE FUNCTION ledger_entries_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'ledger_entries is append-only: % is not allowed', TG_OP USING ERRCODE = 'restrict_violation';
END;
$$;
CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
  FOR EACH ROW EXECUTE FUNCTION ledger_entries_reject_change();
CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_entries_reject_change();

-- Applies an entry to its grant and hold allocation, refusing to spend or earmark a grant outside
-- its validity window: expiry is enforced here, whether or not anything has expired the grant yet.
CREATE FUNCTION ledger_entries_apply() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  g grants%ROWTYPE;
BEGIN
  SELECT * INTO STRICT g FROM grants WHERE grant_id = NEW.grant_id FOR UPDATE;
  IF NEW.kind IN ('charge', 'hold') AND (
       g.expired_at IS NOT NULL
       OR NEW.occurred_at < g.effective_at
       OR (g.expires_at IS NOT NULL AND NEW.occurred_at >= g.expires_at)) THEN
    RAISE EXCEPTION 'grant % is not spendable at %', g.grant_id, NEW.occurred_at USING ERRCODE = 'check_violation';
  END IF;
  IF NEW.kind = 'hold' AND EXISTS (SELECT 1 FROM holds WHERE hold_id = NEW.hold_id AND released_at IS NOT NULL) THEN
    RAISE EXCEPTION 'hold % is released', NEW.hold_id USING ERRCODE = 'check_violation';
  END IF;
  UPDATE grants SET remaining = remaining + NEW.amount, held = held + NEW.held_change WHERE grant_id = NEW.grant_id;
  IF NEW.hold_id IS NOT NULL AND NEW.held_change > 0 THEN
    INSERT INTO hold_allocations AS a (hold_id, grant_id, held) VALUES (NEW.hold_id, NEW.grant_id, NEW.held_change)
      ON CONFLICT (hold_id, grant_id) DO UPDATE SET held = a.held + EXCLUDED.held;
  ELSIF NEW.hold_id IS NOT NULL AND NEW.held_change < 0 THEN
    UPDATE hold_allocations SET held = held + NEW.held_change WHERE hold_id = NEW.hold_id AND grant_id = NEW.grant_id;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'hold % has nothing earmarked on grant %', NEW.hold_id, NEW.grant_id USING ERRCODE = 'check_violation';
    END IF;
  END IF;
  RETURN NEW;
END;
$$;
CREATE TRIGGER ledger_entries_apply_to_grants AFTER INSERT ON ledger_entries
  FOR EACH ROW EXECUTE FUNCTION ledger_entries_apply();

-- Re-export window: when each subject was last billed, per account and subject group.
CREATE TABLE billed_subjects (
  account_id    text NOT NULL REFERENCES accounts,
  subject_group text NOT NULL,
  subject_id    text NOT NULL,
  billed_at     timestamptz NOT NULL,
  operation_id  bigint NOT NULL,
  PRIMARY KEY (account_id, subject_group, subject_id),
  FOREIGN KEY (operation_id, account_id) REFERENCES operations (operation_id, account_id)
);

-- Down Migration
DROP TABLE billed_subjects, ledger_entries, hold_allocations, holds, grants, operations, account_users, accounts;
DROP FUNCTION ledger_entries_apply, ledger_entries_reject_change;
