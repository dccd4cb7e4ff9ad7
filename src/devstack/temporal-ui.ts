/**
 * The Temporal Web UI (the ui-server Go module, which embeds the built UI: the same UI as the
 * temporalio/ui image) as a child process, pointed at a Temporal frontend. Built once by
 * `scripts/install-temporal-server.sh` into `.tools/temporal-ui/v<version>`.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { spawnChildServer, waitUntilReady, type ChildServer } from './child-server.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface TemporalUiOptions {
  version: string;
  temporalAddress: string;
  namespace: string;
  port: number;
  dataDir: string;
  log?: (line: string) => void;
}

export async function startTemporalUi(options: TemporalUiOptions): Promise<{ url: string; server: ChildServer }> {
  const executable = join(REPO_ROOT, '.tools', 'temporal-ui', `v${options.version}`, 'bin', 'server');
  if (!existsSync(executable)) throw new Error(`no Temporal UI at ${executable}: run npm run tools:install-server`);
  const configDir = join(options.dataDir, 'ui');
  mkdirSync(configDir, { recursive: true });
  writeFileSync(
    join(configDir, 'credits.yaml'),
    stringify({
      temporalGrpcAddress: options.temporalAddress,
      port: options.port,
      enableUi: true,
      defaultNamespace: options.namespace,
      auth: { enabled: false },
      cors: { cookieInsecure: true, allowOrigins: [`http://127.0.0.1:${options.port}`] },
      refreshInterval: '1m',
    }),
  );
  const server = spawnChildServer({
    name: `Temporal UI ${options.version} (port ${options.port})`,
    executable,
    args: ['--root', options.dataDir, '--config', 'ui', '--env', 'credits', 'start'],
    detached: true,
    ...(options.log ? { log: options.log } : {}),
  });
  const url = `http://127.0.0.1:${options.port}`;
  await waitUntilReady(
    server,
    async () => {
      const answer = await fetch(`${url}/healthz`);
      if (!answer.ok) throw new Error(`healthz ${answer.status}`);
    },
    30_000,
  );
  return { url, server };
}
