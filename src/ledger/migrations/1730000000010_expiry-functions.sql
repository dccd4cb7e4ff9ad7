-- Up Migration

-- Expiry in one call: what is left of a grant (held or not) leaves the balance when it expires or
-- is revoked before it took effect.

CREATE FUNCTION credits_iso(instant timestamptz) RETURNS text LANGUAGE sql STABLE
  RETURN to_char(instant AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');

-- Writes off what is left of a grant (the caller holds the account's lock) and marks it expired;
-- returns what an expiry reports of it.
CREATE FUNCTION credits_write_off(g grants, instant timestamptz) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO ledger_entries (account_id, grant_id, hold_id, kind, amount, held_change, occurred_at)
  SELECT g.account_id, g.grant_id, a.hold_id, 'expire', -a.held, -a.held, instant FROM hold_allocations a WHERE a.grant_id = g.grant_id AND a.held > 0 ORDER BY a.hold_id;
  IF g.remaining - g.held > 0 THEN
    INSERT INTO ledger_entries (account_id, grant_id, kind, amount, held_change, occurred_at) VALUES (g.account_id, g.grant_id, 'expire', -(g.remaining - g.held), 0, instant);
  END IF;
  UPDATE grants SET expired_at = instant WHERE grant_id = g.grant_id;
  RETURN credits_expiry_view(g, g.remaining, false);
END;
$$;

CREATE FUNCTION credits_expiry_view(g grants, expired bigint, already boolean) RETURNS jsonb LANGUAGE sql STABLE
  RETURN jsonb_build_object('grantId', g.grant_id::text, 'source', g.source, 'expired', expired, 'alreadyExpired', already,
                            'effectiveAt', credits_iso(g.effective_at), 'expiresAt', credits_iso(g.expires_at));

-- `mode`: 'expire' (one grant past its expiry), 'revoke' (a grant not in effect yet), 'due' (every
-- grant of the account past its expiry; `grant_key` is null). Answers {"ok": [expiry, ...]}.
CREATE FUNCTION credits_expire(account_key text, grant_key bigint, instant timestamptz, mode text) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  early jsonb;
  g grants%ROWTYPE;
  expiries jsonb[] := '{}';
BEGIN
  early := credits_lock(account_key);
  IF early IS NOT NULL THEN
    RETURN early;
  END IF;
  IF mode = 'due' THEN
    FOR g IN SELECT * FROM grants WHERE account_id = account_key AND expired_at IS NULL AND expires_at <= instant ORDER BY grant_id LOOP
      expiries := array_append(expiries, credits_write_off(g, instant));
    END LOOP;
    RETURN jsonb_build_object('ok', to_jsonb(expiries));
  END IF;
  SELECT * INTO g FROM grants WHERE grant_id = grant_key AND account_id = account_key;
  IF NOT FOUND THEN
    RETURN jsonb_build_object('refused', 'UNKNOWN_GRANT', 'details', jsonb_build_object('grantId', grant_key::text, 'accountId', account_key));
  END IF;
  IF g.expired_at IS NOT NULL THEN
    RETURN jsonb_build_object('ok', jsonb_build_array(credits_expiry_view(g, 0, true)));
  END IF;
  IF mode = 'expire' AND (g.expires_at IS NULL OR g.expires_at > instant) THEN
    RETURN jsonb_build_object('refused', 'VALIDATION_FAILED',
      'message', format('grant %s is not due to expire at %s', grant_key, credits_iso(instant)),
      'details', jsonb_build_object('issues', jsonb_build_array(jsonb_build_object('path', 'grantId',
        'message', 'expires ' || coalesce(credits_iso(g.expires_at), 'never')))));
  END IF;
  IF mode = 'revoke' THEN
    IF g.effective_at <= instant THEN
      RETURN jsonb_build_object('refused', 'VALIDATION_FAILED',
        'message', format('grant %s is already in effect and cannot be revoked', grant_key),
        'details', jsonb_build_object('issues', jsonb_build_array(jsonb_build_object('path', 'grantId', 'message', 'in effect since ' || credits_iso(g.effective_at)))));
    END IF;
    IF g.held <> 0 OR g.remaining = 0 THEN
      RAISE EXCEPTION 'invariant: pending grant % was touched', grant_key;
    END IF;
  END IF;
  RETURN jsonb_build_object('ok', jsonb_build_array(credits_write_off(g, instant)));
END;
$$;

-- Down Migration
DROP FUNCTION credits_expire, credits_write_off, credits_expiry_view, credits_iso;
