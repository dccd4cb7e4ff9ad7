import pg from 'pg';
import type { Logger } from 'pino';

/** bigint columns hold micros; they come back as numbers, and never silently lose precision. */
function parseSafeInteger(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new Error(`invariant: bigint ${text} is outside the safe integer range`);
  return value;
}

const types: pg.CustomTypesConfig = {
  getTypeParser: (oid, format) => (oid === pg.types.builtins.INT8 ? parseSafeInteger : (pg.types.getTypeParser(oid, format) as unknown)),
};

/** Bounds on every wait for the database, so that an outage answers quickly instead of hanging. */
export const DATABASE_TIMEOUTS = {
  /** Opening a connection, or waiting for a free one from the pool. */
  connectMs: 5_000,
  /** One statement, lock waits included; the server cancels it after this (SQLSTATE 57014). */
  statementMs: 60_000,
  /** A transaction left open by a stuck process loses its locks after this. */
  idleInTransactionMs: 60_000,
} as const;

export interface PoolOptions {
  connectionString: string;
  max?: number;
  applicationName?: string;
  /** Default `DATABASE_TIMEOUTS.statementMs`; 0 means no limit (migrations, a full audit of a large ledger). */
  statementTimeoutMs?: number;
  /** Where a connection lost while idle in the pool (the server restarted or ended it) is reported, in one line; the pool discards it. */
  logger?: Pick<Logger, 'warn'>;
}

/**
 * A pool with bounded waits and TCP keep-alive. A connection that is lost while idle is discarded
 * by the pool and reported, never an unhandled 'error' event that would end the process.
 */
export function createPool({ connectionString, max = 10, applicationName = 'credits', statementTimeoutMs = DATABASE_TIMEOUTS.statementMs, logger }: PoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString,
    max,
    types,
    application_name: applicationName,
    connectionTimeoutMillis: DATABASE_TIMEOUTS.connectMs,
    statement_timeout: statementTimeoutMs,
    idle_in_transaction_session_timeout: DATABASE_TIMEOUTS.idleInTransactionMs,
    keepAlive: true,
  });
  pool.on('error', (error) => {
    logger?.warn({ pool: applicationName, reason: error.message }, 'idle database connection lost');
  });
  return pool;
}

export type Queryable = Pick<pg.PoolClient, 'query'>;

/** SQLSTATEs after which the whole transaction can safely run again. */
const RETRYABLE_SQLSTATES = new Set(['40001', '40P01']);
const MAX_TRANSACTION_ATTEMPTS = 5;

/**
 * SQLSTATEs that say the server is gone, going, starting, full or too slow, not that the request
 * was wrong: class 08 (connection exception), admin/crash shutdown, cannot connect now, too many
 * connections, statement timeout (57014), idle-in-transaction timeout.
 */
const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300', '57014', '25P03']);
const UNAVAILABLE_SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND']);
/** node-postgres and pg-pool report a lost or unobtainable connection as plain Errors with these messages. */
const UNAVAILABLE_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error and is not queryable',
  'Client was closed and is not queryable',
  'Cannot use a pool after calling end on the pool',
];

function isUnavailableItself(error: Error): boolean {
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (code.startsWith('08') || UNAVAILABLE_SQLSTATES.has(code) || UNAVAILABLE_SOCKET_CODES.has(code))) return true;
  return UNAVAILABLE_MESSAGES.some((message) => error.message.startsWith(message));
}

/**
 * Whether `error` (or one of its causes) means PostgreSQL could not be reached or did not answer:
 * the operation may be retried once the database is back, with the same idempotency key.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  const pending: unknown[] = [error];
  for (let seen = 0; pending.length > 0 && seen < 16; seen++) {
    const current = pending.shift();
    if (!(current instanceof Error)) continue;
    if (isUnavailableItself(current)) return true;
    if (current instanceof AggregateError) pending.push(...(current.errors as unknown[]));
    pending.push(current.cause);
  }
  return false;
}

/**
 * Runs `work` in one transaction: committed if it returns, rolled back if it throws, and retried
 * from scratch on serialization failures and deadlocks, which roll back everything they touched.
 * A connection lost meanwhile fails this transaction only: it is discarded, not returned to the
 * pool, and never retried here (a lost COMMIT may have committed; the caller's key decides).
 */
export async function withTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const { client, lostWith, detach } = await checkOut(pool);
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      broken = lostWith() ?? (isDatabaseUnavailable(error) ? asError(error) : await rollback(client));
      if (broken === undefined && attempt < MAX_TRANSACTION_ATTEMPTS && isRetryable(error)) continue;
      throw error;
    } finally {
      detach();
      client.release(broken ?? lostWith());
    }
  }
}

/**
 * A client from the pool that records the error of a connection lost while it is checked out. The
 * pool stops listening to a client's 'error' once it hands it out; without a listener of ours the
 * event would be unhandled and end the process. It is attached in the pool's callback, in the same
 * tick as the hand-over: the promise form of `connect` resolves a tick later, and a termination
 * message read in the same chunk as the previous holder's last reply arrives in between.
 */
function checkOut(pool: pg.Pool): Promise<{ client: pg.PoolClient; lostWith: () => Error | undefined; detach: () => void }> {
  return new Promise((resolve, reject) => {
    pool.connect((error, client) => {
      if (error !== undefined || client === undefined) {
        reject(asError(error ?? new Error('the pool gave no client')));
        return;
      }
      let lost: Error | undefined;
      const onError = (connectionError: Error): void => {
        lost ??= connectionError;
      };
      client.on('error', onError);
      resolve({ client, lostWith: () => lost, detach: () => client.off('error', onError) });
    });
  });
}

/** Rolls back; the connection's failure to do so, if any, is returned so that it is discarded. */
async function rollback(client: pg.PoolClient): Promise<Error | undefined> {
  try {
    await client.query('ROLLBACK');
    return undefined;
  } catch (error) {
    return asError(error);
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

function isRetryable(error: unknown): boolean {
  return error instanceof pg.DatabaseError && error.code !== undefined && RETRYABLE_SQLSTATES.has(error.code);
}
