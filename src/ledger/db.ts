import pg from 'pg';

/** bigint columns hold micros; they come back as numbers, and never silently lose precision. */
function parseSafeInteger(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new Error(`invariant: bigint ${text} is outside the safe integer range`);
  return value;
}

const types: pg.CustomTypesConfig = {
  getTypeParser: (oid, format) => (oid === pg.types.builtins.INT8 ? parseSafeInteger : (pg.types.getTypeParser(oid, format) as unknown)),
};

export interface PoolOptions {
  connectionString: string;
  max?: number;
  applicationName?: string;
}

export function createPool({ connectionString, max = 10, applicationName = 'credits' }: PoolOptions): pg.Pool {
  return new pg.Pool({ connectionString, max, types, application_name: applicationName });
}

export type Queryable = Pick<pg.PoolClient, 'query'>;

/** SQLSTATEs after which the whole transaction can safely run again. */
const RETRYABLE_SQLSTATES = new Set(['40001', '40P01']);
const MAX_TRANSACTION_ATTEMPTS = 5;

/**
 * Runs `work` in one transaction: committed if it returns, rolled back if it throws, and retried
 * from scratch on serialization failures and deadlocks, which roll back everything they touched.
 */
export async function withTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      if (attempt < MAX_TRANSACTION_ATTEMPTS && isRetryable(error)) continue;
      throw error;
    } finally {
      client.release();
    }
  }
}

function isRetryable(error: unknown): boolean {
  return error instanceof pg.DatabaseError && error.code !== undefined && RETRYABLE_SQLSTATES.has(error.code);
}
