-- Up Migration

-- Operator money tools (adjustments, refunds, contract terms), balance alerts and the terms each
-- period's allowance was written from.

-- balance.low fires when the available balance falls to or below this; NULL means 10 % of the
-- period's allowance.
ALTER TABLE accounts ADD COLUMN low_balance_micros bigint CHECK (low_balance_micros >= 0);

ALTER TABLE operations
  ADD COLUMN operator text CHECK (length(operator) BETWEEN 1 AND 128),
  ADD COLUMN reason text CHECK (length(reason) BETWEEN 1 AND 500),
  ADD COLUMN refund_of bigint,
  ADD CONSTRAINT operations_refund_of FOREIGN KEY (refund_of, account_id) REFERENCES operations (operation_id, account_id),
  DROP CONSTRAINT operations_kind_check,
  ADD CONSTRAINT operations_kind_check
    CHECK (kind IN ('grant', 'top_up', 'charge', 'hold', 'hold_extend', 'hold_charge', 'adjustment', 'refund', 'contract')),
  -- What an operator does says who did it and why.
  ADD CONSTRAINT operations_attributed
    CHECK (kind NOT IN ('adjustment', 'refund', 'contract') OR (operator IS NOT NULL AND reason IS NOT NULL)),
  ADD CONSTRAINT operations_refund_names_charge CHECK ((kind = 'refund') = (refund_of IS NOT NULL));
CREATE INDEX operations_refunds ON operations (refund_of) WHERE refund_of IS NOT NULL;
DROP INDEX operations_usage;
CREATE INDEX operations_usage ON operations (account_id, occurred_at) WHERE kind IN ('charge', 'hold_charge', 'refund');

-- 'adjust' takes credits out of a grant by an operator's decision; 'refund' puts charged credits back.
ALTER TABLE ledger_entries
  DROP CONSTRAINT ledger_entries_kind_check,
  ADD CONSTRAINT ledger_entries_kind_check CHECK (kind IN ('grant', 'charge', 'hold', 'release', 'expire', 'adjust', 'refund')),
  DROP CONSTRAINT ledger_entries_shape,
  ADD CONSTRAINT ledger_entries_shape CHECK (
    CASE kind
      WHEN 'grant'   THEN amount > 0 AND held_change = 0 AND hold_id IS NULL AND operation_id IS NOT NULL
      WHEN 'charge'  THEN amount < 0 AND operation_id IS NOT NULL
                          AND ((hold_id IS NULL AND held_change = 0) OR (hold_id IS NOT NULL AND held_change = amount))
      WHEN 'hold'    THEN amount = 0 AND held_change > 0 AND hold_id IS NOT NULL AND operation_id IS NOT NULL
      WHEN 'release' THEN amount = 0 AND held_change < 0 AND hold_id IS NOT NULL
      WHEN 'expire'  THEN amount < 0 AND held_change <= 0 AND held_change >= amount
                          AND (hold_id IS NOT NULL OR held_change = 0)
      WHEN 'adjust'  THEN amount < 0 AND held_change = 0 AND hold_id IS NULL AND operation_id IS NOT NULL
      WHEN 'refund'  THEN amount > 0 AND held_change = 0 AND hold_id IS NULL AND operation_id IS NOT NULL
    END
  );

-- Terms agreed with one account on top of its plan: its own allowance (fixed or per seat) in place of
-- the plan's unrestricted allowance, and extra features. The row in force at an instant is the
-- latest whose effective_from is at or before it (src/ledger/contracts.ts).
CREATE TABLE account_contracts (
  contract_id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  account_id         text NOT NULL REFERENCES accounts,
  operation_id       bigint NOT NULL UNIQUE,
  allowance_micros   bigint CHECK (allowance_micros >= 0),
  allowance_per_seat boolean NOT NULL,
  extra_features     text[] NOT NULL CHECK (cardinality(extra_features) <= 64),
  effective_from     timestamptz NOT NULL,
  created_at         timestamptz NOT NULL,
  FOREIGN KEY (operation_id, account_id) REFERENCES operations (operation_id, account_id)
);
CREATE INDEX account_contracts_in_force ON account_contracts (account_id, effective_from DESC, contract_id DESC);

-- What each period's allowance was written from, so the audit can check the grants against it even
-- after the catalog changed.
CREATE TABLE period_terms (
  account_id       text NOT NULL REFERENCES accounts,
  period_start     timestamptz NOT NULL,
  revision         integer NOT NULL CHECK (revision >= 0),
  plan_id          text NOT NULL,
  seats            integer NOT NULL,
  contract_id      bigint REFERENCES account_contracts,
  allowance_micros bigint NOT NULL CHECK (allowance_micros >= 0),
  recorded_at      timestamptz NOT NULL,
  PRIMARY KEY (account_id, period_start, revision)
);

-- Down Migration
DROP TABLE period_terms, account_contracts;
DROP INDEX operations_refunds;
DROP INDEX operations_usage;
CREATE INDEX operations_usage ON operations (account_id, occurred_at) WHERE kind IN ('charge', 'hold_charge');
ALTER TABLE operations
  DROP CONSTRAINT operations_refund_names_charge,
  DROP CONSTRAINT operations_attributed,
  DROP CONSTRAINT operations_refund_of,
  DROP COLUMN refund_of,
  DROP COLUMN reason,
  DROP COLUMN operator;
ALTER TABLE accounts DROP COLUMN low_balance_micros;
