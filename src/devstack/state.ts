/**
 * Where a running dev stack says what it runs, for tools that are not part of it (`credits audit`
 * finds the ledger database here): `dev-stack.json` in its data directory, written once it is up,
 * removed when it stops. A stack killed with SIGKILL leaves the file behind; its pid tells.
 * Kept free of the stack's own imports, so that reading it loads nothing heavy.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** `<repo>/.data`: where `npm run dev` keeps its state unless CREDITS_DEV_DATA_DIR says otherwise. */
export const DEFAULT_DATA_DIR = fileURLToPath(new URL('../../.data', import.meta.url));

export const DEV_STACK_FILE = 'dev-stack.json';

export interface DevStackState {
  /** The process running the stack. */
  pid: number;
  /** The ledger database (credentials included: a dev server on this machine only). */
  databaseUrl: string;
}

/** The data directory `npm run dev` uses with this environment. */
export function devDataDir(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.CREDITS_DEV_DATA_DIR?.trim();
  return dir === undefined || dir === '' ? DEFAULT_DATA_DIR : path.resolve(dir);
}

/** Readable by the owner only: the database URL carries its password. */
export function writeDevStackState(dataDir: string, state: DevStackState): void {
  writeFileSync(path.join(dataDir, DEV_STACK_FILE), `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
}

export function removeDevStackState(dataDir: string): void {
  rmSync(path.join(dataDir, DEV_STACK_FILE), { force: true });
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The running stack's state in `dataDir` and its file, or why there is none (one line naming the
 * file): no file, a file that is not a stack's state, or one left by a stack no longer running.
 */
export function readDevStackState(dataDir: string): { state: DevStackState; file: string } | { missing: string } {
  const file = path.join(dataDir, DEV_STACK_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { missing: `${file}: not there (no dev stack is running on ${dataDir})` };
    return { missing: `${file}: cannot be read (${(error as Error).message})` };
  }
  let state: unknown;
  try {
    state = JSON.parse(text);
  } catch {
    return { missing: `${file}: not JSON` };
  }
  if (!isState(state)) return { missing: `${file}: not a dev stack's state (no pid and databaseUrl)` };
  if (!isAlive(state.pid)) return { missing: `${file}: left by a dev stack (pid ${state.pid}) that is no longer running` };
  return { state, file };
}

function isState(value: unknown): value is DevStackState {
  if (typeof value !== 'object' || value === null) return false;
  const { pid, databaseUrl } = value as Record<string, unknown>;
  return typeof pid === 'number' && Number.isInteger(pid) && pid > 0 && typeof databaseUrl === 'string' && databaseUrl !== '';
}
