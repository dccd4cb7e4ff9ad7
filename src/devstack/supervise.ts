/**
 * Keeps a server running: when it exits unexpectedly (not through the supervision's `stop`), it is
 * started again on the same data and port, with a short backoff between attempts, until it is
 * back or the restart budget is spent. Generic over any server whose exit can be awaited (the dev
 * stack's PostgreSQL and Temporal dev server).
 *
 * ```ts
 * const { server, stop } = await startSupervised({ name: 'PostgreSQL (port 5432)', start, progress, onGiveUp });
 * await stop(); // no more restarts; the server (or the one a restart is bringing up) is stopped
 * ```
 */
import type { ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

/** How a server process ended: its exit code, or the signal that ended it. */
export interface ServerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SupervisedServer {
  /** Settles when the server exits, whatever the reason (its own `stop` included). */
  exited: Promise<ServerExit>;
  stop: () => Promise<void>;
}

/**
 * Restart attempts allowed within `RESTART_WINDOW_MS`, failed or not: a server that cannot start,
 * or that keeps dying right after it has, is given up on instead of being restarted forever.
 */
export const MAX_RESTARTS = 5;
const RESTART_WINDOW_MS = 5 * 60_000;
/**
 * The wait before the first attempt, doubled for each further one: a SIGKILLed postmaster's
 * backends may still hold its shared memory for a moment, and the server refuses to start until
 * they let go.
 */
const FIRST_RESTART_DELAY_MS = 500;

export interface SuperviseOptions<S extends SupervisedServer> {
  /** The server in the lines told to `progress`, e.g. `PostgreSQL (port 5432)`. */
  name: string;
  /** Starts the server: once at first, then for each restart (on the same data and port). */
  start: () => Promise<S>;
  progress: (line: string) => void;
  /** Told once when the server is down and the restart budget is spent; supervision has ended then. */
  onGiveUp: (reason: Error) => void;
}

export interface Supervised<S> {
  /** The first start's server; a restarted one has the same address, port and data. */
  server: S;
  /** Ends supervision and stops the server, one that a restart is bringing up included. Idempotent. */
  stop: () => Promise<void>;
}

/** Resolves with how `child` ended (at once if it already has). */
export function childExit(child: ChildProcess): Promise<ServerExit> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => {
    resolve({ code, signal });
  }));
}

function describeExit(exit: ServerExit): string {
  return exit.signal === null ? `exit code ${String(exit.code)}` : `signal ${exit.signal}`;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A start-up failure in one line: its last, which is the server's last complaint when it printed any. */
function lastLine(error: unknown): string {
  return message(error).trimEnd().split('\n').at(-1)?.trim() ?? '';
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/**
 * Starts the server and watches it. The first start is not retried: its failure rejects, as a
 * plain start would.
 */
export async function startSupervised<S extends SupervisedServer>(options: SuperviseOptions<S>): Promise<Supervised<S>> {
  const { name, progress } = options;
  const first = await options.start();
  let current: S | null = first;
  const stopRequest = new AbortController();
  const stopped = new Promise<null>((resolve) => {
    stopRequest.signal.addEventListener('abort', () => {
      resolve(null);
    });
  });
  /** When each recent restart attempt began, oldest first. */
  const attempts: number[] = [];

  /** Waits `ms`; false when a stop cut the wait short. */
  const pause = (ms: number): Promise<boolean> => sleep(ms, true, { signal: stopRequest.signal }).catch(() => false);

  /** The restarted server; null when supervision was stopped or gave up meanwhile. */
  const restart = async (exit: ServerExit): Promise<S | null> => {
    const downSince = Date.now();
    let lastFailure: unknown = null;
    for (let retry = 0; !stopRequest.signal.aborted; retry++) {
      const now = Date.now();
      // Attempts older than the window no longer count.
      while ((attempts[0] ?? now) < now - RESTART_WINDOW_MS) attempts.shift();
      if (attempts.length >= MAX_RESTARTS) {
        const last = lastFailure === null ? '' : `; the last one failed: ${message(lastFailure)}`;
        options.onGiveUp(new Error(`${name} exited unexpectedly (${describeExit(exit)}) and could not be kept running: ${MAX_RESTARTS} restart attempts within ${RESTART_WINDOW_MS / 60_000} minutes${last}`, { cause: lastFailure ?? undefined }));
        return null;
      }
      attempts.push(now);
      const attempt = `attempt ${attempts.length} of ${MAX_RESTARTS}`;
      const delayMs = FIRST_RESTART_DELAY_MS * 2 ** retry;
      progress(lastFailure === null
        ? `${name} exited unexpectedly (${describeExit(exit)}); restarting it on the same data and port (${attempt})`
        : `${name} did not start again (${lastLine(lastFailure)}); retrying in ${seconds(delayMs)} (${attempt})`);
      if (!(await pause(delayMs))) return null;
      try {
        const server = await options.start();
        progress(`${name} is back after ${seconds(Date.now() - downSince)}`);
        return server;
      } catch (error) {
        lastFailure = error;
      }
    }
    return null;
  };

  const watching = (async () => {
    while (current !== null && !stopRequest.signal.aborted) {
      const exit = await Promise.race([current.exited, stopped]);
      if (exit === null) return;
      current = await restart(exit);
    }
  })();

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      stopRequest.abort();
      await watching;
      await current?.stop();
    })();
    return stopping;
  };
  return { server: first, stop };
}
