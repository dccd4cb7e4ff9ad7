import { devDataDir, readDevStackState } from '../devstack/state.js';
import { UsageError } from './api.js';

/** The ledger database a command that reads it directly (audit, migrate) uses, and where it came from. */
export interface LedgerDatabase {
  url: string;
  /** The dev stack's state file it was read from, or null for DATABASE_URL. */
  devStackFile: string | null;
}

/**
 * DATABASE_URL, or else the database of the dev stack running on this machine, found the way
 * `npm run dev` publishes it: `dev-stack.json` in its data directory (CREDITS_DEV_DATA_DIR, or the
 * repository's `.data/`). When neither is there, says what it tried.
 */
export function ledgerDatabase(databaseUrl: string | undefined, env: NodeJS.ProcessEnv = process.env): LedgerDatabase {
  if (databaseUrl !== undefined) return { url: databaseUrl, devStackFile: null };
  const dataDir = devDataDir(env);
  const found = readDevStackState(dataDir);
  if ('state' in found) return { url: found.state.databaseUrl, devStackFile: found.file };
  throw new UsageError(
    `no ledger database: tried DATABASE_URL (not set) and the dev stack's ${found.missing}. Set DATABASE_URL, or start the dev stack (npm run dev${env.CREDITS_DEV_DATA_DIR === undefined ? '' : ' with the same CREDITS_DEV_DATA_DIR'}).`,
  );
}
