-- Up Migration

-- The shape of a ledger entry, as one function its CHECK constraint calls. PostgreSQL prepares a
-- table's CHECK constraints again for every INSERT statement, from the catalog's text form of each
-- expression: the shape's CASE was 13,560 characters of it (and the kinds' list 1,594), the largest
-- part of what a batch of charges parsed. A plpgsql function is not inlined, so its constraint is a
-- short call whose body PostgreSQL keeps compiled per connection. An entry of an unknown kind has
-- no shape: refused here too, so the kinds' own constraint goes.
CREATE FUNCTION ledger_entry_well_formed(kind text, amount bigint, held_change bigint, hold_id bigint, operation_id bigint)
  RETURNS boolean LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
  RETURN CASE kind
    WHEN 'grant'   THEN amount > 0 AND held_change = 0 AND hold_id IS NULL AND operation_id IS NOT NULL
    WHEN 'charge'  THEN amount < 0 AND operation_id IS NOT NULL
                        AND ((hold_id IS NULL AND held_change = 0) OR (hold_id IS NOT NULL AND held_change = amount))
    WHEN 'hold'    THEN amount = 0 AND held_change > 0 AND hold_id IS NOT NULL AND operation_id IS NOT NULL
    WHEN 'release' THEN amount = 0 AND held_change < 0 AND hold_id IS NOT NULL
    WHEN 'expire'  THEN amount < 0 AND held_change <= 0 AND held_change >= amount
                        AND (hold_id IS NOT NULL OR held_change = 0)
    WHEN 'adjust'  THEN amount < 0 AND held_change = 0 AND hold_id IS NULL AND operation_id IS NOT NULL
    WHEN 'refund'  THEN amount > 0 AND held_change = 0 AND hold_id IS NULL AND operation_id IS NOT NULL
    ELSE false
  END;
END;
$$;
ALTER TABLE ledger_entries
  DROP CONSTRAINT ledger_entries_kind_check,
  DROP CONSTRAINT ledger_entries_shape,
  ADD CONSTRAINT ledger_entries_shape CHECK (ledger_entry_well_formed(kind, amount, held_change, hold_id, operation_id));

-- Down Migration
ALTER TABLE ledger_entries
  DROP CONSTRAINT ledger_entries_shape,
  ADD CONSTRAINT ledger_entries_kind_check CHECK (kind IN ('grant', 'charge', 'hold', 'release', 'expire', 'adjust', 'refund')),
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
DROP FUNCTION ledger_entry_well_formed;
