import type { Logger } from 'pino';

/** A check of one dependency: resolves when it is usable, rejects with the reason when not. */
export type Probe = () => Promise<void>;

export interface DependencyHealth {
  state: 'up' | 'down';
  /** How long the last check took. */
  latencyMs: number;
  /** Why it is down (the last check's error message). */
  error?: string;
  /** Since when it has been in this state, as far as this process has seen. */
  since: string;
}

export interface HealthReport<Name extends string> {
  healthy: boolean;
  dependencies: Record<Name, DependencyHealth>;
}

export interface HealthWatch<Name extends string> {
  /** Checks every dependency now (each within the probe timeout) and logs what changed. */
  check: () => Promise<HealthReport<Name>>;
  /** Something failed that may mean a dependency is gone: check soon rather than at the next tick. */
  checkSoon: () => void;
  /** Checks periodically (more often while something is down) until `stop`. */
  start: () => void;
  /** Stops checking; resolves once a check in flight has finished, so its connections can be closed. */
  stop: () => Promise<void>;
}

export interface HealthWatchOptions<Name extends string> {
  probes: Readonly<Record<Name, Probe>>;
  /** What the log says when a dependency goes and comes back, e.g. `{ database: 'database' }`. */
  labels: Readonly<Record<Name, string>>;
  logger: Logger;
  /** Releases what the probes hold (a connection of their own), once `stop` has no check in flight. */
  release?: () => Promise<void>;
  probeTimeoutMs?: number;
  /** Between checks while everything is up. */
  upIntervalMs?: number;
  /** Between checks while something is down, so that recovery is noticed (and logged) quickly. */
  downIntervalMs?: number;
  now?: () => number;
}

const DEFAULTS = { probeTimeoutMs: 2_000, upIntervalMs: 5_000, downIntervalMs: 1_000 } as const;

function withTimeout(probe: Probe, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    probe(),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(new Error(`no answer within ${timeoutMs} ms`));
      }, timeoutMs);
    }),
  ]).finally(() => {
    clearTimeout(timer);
  });
}

function messageOf(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return messageOf(error.errors[0]);
  const message = error instanceof Error ? error.message : String(error);
  return message === '' && error instanceof Error ? error.name : message.split('\n')[0] ?? '';
}

/**
 * Watches the dependencies a process needs and logs one line per change of state ("database lost:
 * connect ECONNREFUSED …", "database back after 12.4 s"), never one per failed request.
 */
export function createHealthWatch<Name extends string>(options: HealthWatchOptions<Name>): HealthWatch<Name> {
  const { probes, labels, logger } = options;
  const probeTimeoutMs = options.probeTimeoutMs ?? DEFAULTS.probeTimeoutMs;
  const now = options.now ?? Date.now;
  const names = Object.keys(probes) as Name[];
  /** Each dependency's state as last seen, and since when it has been in it. */
  const last = new Map<Name, { state: DependencyHealth['state']; sinceMs: number }>();
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let inFlight: Promise<HealthReport<Name>> | undefined;

  function record(name: Name, latencyMs: number, error: unknown): DependencyHealth {
    const previous = last.get(name);
    const state: DependencyHealth['state'] = error === undefined ? 'up' : 'down';
    const current = previous?.state === state ? previous : { state, sinceMs: now() };
    last.set(name, current);
    const reason = error === undefined ? undefined : messageOf(error);
    if (current !== previous && reason !== undefined) logger.error({ dependency: name, reason }, `${labels[name]} lost: ${reason}`);
    if (current !== previous && reason === undefined && previous !== undefined) {
      const downForS = Math.round((current.sinceMs - previous.sinceMs) / 100) / 10;
      logger.warn({ dependency: name, downForS }, `${labels[name]} back after ${downForS} s`);
    }
    return { state, latencyMs, ...(reason === undefined ? {} : { error: reason }), since: new Date(current.sinceMs).toISOString() };
  }

  async function probeOne(name: Name): Promise<[Name, DependencyHealth]> {
    const started = performance.now();
    let failure: unknown;
    try {
      await withTimeout(probes[name], probeTimeoutMs);
    } catch (error) {
      failure = error ?? new Error('failed');
    }
    return [name, record(name, Math.round((performance.now() - started) * 10) / 10, failure)];
  }

  function check(): Promise<HealthReport<Name>> {
    inFlight ??= (async () => {
      try {
        const entries = await Promise.all(names.map(probeOne));
        const dependencies = Object.fromEntries(entries) as Record<Name, DependencyHealth>;
        return { healthy: entries.every(([, health]) => health.state === 'up'), dependencies };
      } finally {
        inFlight = undefined;
      }
    })();
    return inFlight;
  }

  function schedule(delayMs: number): void {
    if (!running) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      void check().then((report) => {
        schedule(report.healthy ? (options.upIntervalMs ?? DEFAULTS.upIntervalMs) : (options.downIntervalMs ?? DEFAULTS.downIntervalMs));
      });
    }, delayMs);
    timer.unref();
  }

  return {
    check,
    checkSoon: () => {
      if (running && inFlight === undefined) schedule(0);
    },
    start: () => {
      if (running) return;
      running = true;
      schedule(0);
    },
    stop: async () => {
      running = false;
      clearTimeout(timer);
      await inFlight;
      await options.release?.();
    },
  };
}
