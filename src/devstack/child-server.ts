/**
 * A server run as a child process (the Temporal dev server, the real Temporal server, the worker and
 * API processes of the production topology): its output kept for error messages, killed if this
 * process exits first, stopped with SIGTERM and then SIGKILL, and waited for until it is ready.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import { childExit, type ServerExit } from './supervise.js';

const OUTPUT_LINES_KEPT = 40;
/**
 * A Go server's crash (the Temporal CLI and server) starts with the reason, then dumps goroutine
 * stacks, often more than OUTPUT_LINES_KEPT lines: the reason's first lines are kept apart.
 */
const GO_CRASH_START = /^(panic: |fatal error: )/;
const CRASH_LINES_KEPT = 5;
const READY_POLL_MS = 200;

export interface ChildServerOptions {
  /** What the server is, for messages: "Temporal server (port 7233)". */
  name: string;
  executable: string;
  args: readonly string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** A process group of its own: a terminal's Ctrl-C does not reach it, so its launcher stops it in order. */
  detached?: boolean;
  /** Receives every line the server prints (stdout and stderr). */
  log?: (line: string) => void;
}

export interface ChildServer {
  name: string;
  child: ChildProcess;
  pid: number;
  /** Settles when the process exits, whatever the reason (`stop` included). */
  exited: Promise<ServerExit>;
  /** SIGTERM, then SIGKILL if it has not exited after `timeoutMs` (default 10 s). Idempotent. */
  stop: (timeoutMs?: number) => Promise<void>;
  /** An error about this server, with its last output. */
  failure: (reason: string) => Error;
}

export function spawnChildServer(options: ChildServerOptions): ChildServer {
  const child = spawn(options.executable, options.args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.detached ?? false,
    ...(options.env ? { env: options.env } : {}),
    ...(options.cwd ? { cwd: options.cwd } : {}),
  });
  const exited = childExit(child);
  const recent: string[] = [];
  const crash: string[] = [];
  let linesSeen = 0;
  let crashStartsAt: number | undefined;
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => {
      linesSeen++;
      if (crashStartsAt === undefined && GO_CRASH_START.test(line)) crashStartsAt = linesSeen;
      if (crashStartsAt !== undefined && crash.length < CRASH_LINES_KEPT) crash.push(line);
      recent.push(line);
      if (recent.length > OUTPUT_LINES_KEPT) recent.shift();
      options.log?.(line);
    });
  }
  // The last lines, after the first lines of a Go crash when those have scrolled out.
  const output = (): string[] => {
    const crashScrolledOut = crashStartsAt !== undefined && crashStartsAt <= linesSeen - recent.length;
    return crashScrolledOut ? [...crash, '…', ...recent] : recent;
  };
  // A server outliving this process would hold its ports until killed by hand.
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  void exited.then(() => process.off('exit', killOnExit));

  let stopping: Promise<void> | undefined;
  const stop = (timeoutMs = 10_000): Promise<void> => {
    stopping ??= (async () => {
      process.off('exit', killOnExit);
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
      child.kill('SIGTERM');
      const forced = await Promise.race([exited.then(() => false), delay(timeoutMs, true, { ref: false })]);
      if (forced) {
        child.kill('SIGKILL');
        await exited;
      }
    })();
    return stopping;
  };
  const failure = (reason: string): Error => new Error(`${options.name} ${reason}${recent.length > 0 ? `; its last output:\n${output().join('\n')}` : ''}`);
  return { name: options.name, child, pid: child.pid ?? -1, exited, stop, failure };
}

/** A server that exited on its own before it was ready, as opposed to one stopped after its start timed out. */
export class ExitedDuringStartupError extends Error {}

/**
 * Polls `probe` until it resolves; rejects (and stops the server) if the server exits first or
 * `timeoutMs` passes, with the probe's last error and the server's last output.
 */
export async function waitUntilReady(server: ChildServer, probe: () => Promise<unknown>, timeoutMs: number): Promise<void> {
  const { child } = server;
  let spawnError: Error | undefined;
  child.once('error', (error) => {
    spawnError = error;
  });
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      if (spawnError) throw server.failure(`could not be started: ${spawnError.message}`);
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new ExitedDuringStartupError(server.failure(`exited during start-up (${child.exitCode !== null ? `code ${child.exitCode}` : `signal ${String(child.signalCode)}`})`).message);
      }
      let lastError: unknown;
      try {
        await probe();
        return;
      } catch (error) {
        lastError = error;
      }
      if (Date.now() > deadline) throw server.failure(`was not ready in ${timeoutMs / 1000} s (last error: ${lastError instanceof Error ? lastError.message : String(lastError)})`);
      await delay(READY_POLL_MS);
    }
  } catch (error) {
    await server.stop();
    throw error;
  }
}
