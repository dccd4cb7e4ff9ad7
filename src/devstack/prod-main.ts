/**
 * `npm run stack:prod`: the production topology on this machine (src/devstack/prod.ts): PostgreSQL,
 * the real Temporal server on it, two workers and two API processes behind one port. Prints where
 * everything is; on Ctrl-C, SIGTERM or SIGHUP stops it in order (the proxy and the APIs first,
 * PostgreSQL last) and exits 0.
 *
 * Environment (all optional): CREDITS_PROD_DATA_DIR (default `<repo>/.data/prod`), PORT (the API's
 * one port, default 3000), CREDITS_PROD_TEMPORAL_PORT (default 7233), CREDITS_PROD_TEMPORAL_UI_PORT
 * (default 8080), DATABASE_URL (a server whose
 * role may create databases, instead of the embedded one), API_TOKENS (default: a token generated once
 * into the data directory), CREDITS_PROD_VERBOSE=1 (print every server's output).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { firstAdminToken, loadConfig } from '../config.js';
import { devToken } from './dev.js';
import { startProductionStack, PRODUCTION_SETTINGS_FILE, type ProductionStack } from './prod.js';
import { DEFAULT_DATA_DIR } from './state.js';

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

function say(line = ''): void {
  process.stdout.write(`${line}\n`);
}

function banner(stack: ProductionStack, token: string, startedInMs: number): string {
  const row = (label: string, value: string): string => `  ${label.padEnd(16)}${value}`;
  const { settings } = stack;
  return [
    '',
    `Credits production topology is running (started in ${(startedInMs / 1000).toFixed(1)} s; settings: ${PRODUCTION_SETTINGS_FILE})`,
    '',
    row('API', `${stack.apiUrl} (one port in front of ${stack.apiUrls.length} API processes: ${stack.apiUrls.join(', ')})`),
    row('API docs', `${stack.apiUrl}/docs`),
    row('Temporal', `${stack.temporalAddress} (server ${settings.temporalServerVersion}, ${settings.shards} history shards, namespace ${settings.namespace})`),
    row('Temporal UI', `${stack.temporalUiUrl} (Web UI ${settings.temporalUiVersion})`),
    row('Workers', stack.workers.map((worker) => `pid ${worker.pid}`).join(', ')),
    row('PostgreSQL', stack.databaseUrl),
    row('API token', token),
    '',
    'Try:',
    `  curl -s -H 'Authorization: Bearer ${token}' ${stack.apiUrl}/v1/catalog`,
    '',
    'Press Ctrl-C to stop everything in order.',
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  for (const signal of SIGNALS) for (const listener of process.listeners(signal)) process.off(signal, listener);
  const dataDir = process.env.CREDITS_PROD_DATA_DIR ?? join(DEFAULT_DATA_DIR, 'prod');
  mkdirSync(dataDir, { recursive: true });
  // Checked here, before anything starts: a bad entry would otherwise stop every API process.
  const configured = loadConfig(process.env).apiTokens ?? [{ scope: 'admin', token: devToken(join(dataDir, 'api-token')) }];
  const tokens = configured.map((entry) => `${entry.scope}:${entry.token}`);
  const bannerToken = firstAdminToken(configured);
  const verbose = process.env.CREDITS_PROD_VERBOSE === '1';
  const started = Date.now();
  say('[prod] starting the production topology');
  let stack: ProductionStack | null = null;
  let stopping = false;
  const stop = async (signal: NodeJS.Signals): Promise<void> => {
    if (stopping) return;
    stopping = true;
    say(`[prod] ${signal}: stopping in order`);
    await stack?.stop();
    say('[prod] stopped');
    process.exit(0);
  };
  for (const signal of SIGNALS) process.on(signal, (received) => void stop(received));
  stack = await startProductionStack({
    dataDir,
    apiTokens: tokens,
    apiPort: Number(process.env.PORT ?? 3000),
    temporalPort: Number(process.env.CREDITS_PROD_TEMPORAL_PORT ?? 7233),
    temporalUiPort: Number(process.env.CREDITS_PROD_TEMPORAL_UI_PORT ?? 8080),
    ...(process.env.DATABASE_URL ? { postgresUrl: process.env.DATABASE_URL } : {}),
    progress: (step) => {
      say(`[prod] ${step}`);
    },
    ...(verbose ? { log: (server: string, line: string) => { say(`[${server}] ${line}`); } } : {}),
  });
  say(banner(stack, bannerToken, Date.now() - started));
}

main().catch((error: unknown) => {
  process.stderr.write(`[prod] ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
