/**
 * `npm run stack:prod` and docker-compose.yml run the same topology from deploy/production.env:
 * compose reads the file as the env_file of its services; what it cannot read from there (image
 * tags, replica counts) must agree with it, or this test fails.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { readProductionSettings } from '../src/devstack/prod.js';

interface ComposeService {
  image?: string;
  env_file?: string[];
  deploy?: { replicas?: number };
  ports?: string[];
  environment?: Record<string, unknown>;
  command?: string[];
}

const compose = parse(readFileSync(new URL('../docker-compose.yml', import.meta.url), 'utf8')) as { services: Record<string, ComposeService> };
const service = (name: string): ComposeService => {
  const found = compose.services[name];
  if (!found) throw new Error(`docker-compose.yml has no service ${name}`);
  return found;
};

describe('the production settings', () => {
  const settings = readProductionSettings();

  it('are read by the compose services that run the topology', () => {
    for (const name of ['temporal', 'worker', 'api']) expect(service(name).env_file).toContain('deploy/production.env');
  });

  it('give compose the same Temporal server version, worker and API counts', () => {
    expect(service('temporal').image).toBe(`temporalio/server:${settings.temporalServerVersion}`);
    for (const name of ['temporal-schema', 'temporal-namespace']) expect(service(name).image).toBe(`temporalio/admin-tools:${settings.temporalServerVersion}`);
    expect(service('temporal-ui').image).toBe(`temporalio/ui:${settings.temporalUiVersion}`);
    expect(service('worker').deploy?.replicas).toBe(settings.workers);
    expect(service('api').deploy?.replicas).toBe(settings.apis);
    const [, first, last] = /(\d+)-(\d+)}:/.exec(service('api').ports?.[0] ?? '') ?? [];
    expect(Number(last) - Number(first) + 1).toBe(settings.apis);
  });

  it("give compose's workers the same heap limit as stack:prod's: WORKER_HEAP_MB, applied by the launcher both run", () => {
    expect(settings.processEnv.WORKER_HEAP_MB).toMatch(/^[1-9]\d*$/);
    expect(service('worker').environment?.NODE_OPTIONS).toBeUndefined();
    expect(service('worker').command).toEqual(['npm', 'run', 'worker']);
    const packageJson = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> };
    expect(packageJson.scripts.worker).toBe('sh scripts/worker.sh');
  });

  it('build the server that stack:prod runs', () => {
    expect(readFileSync(new URL('../scripts/install-temporal-server.sh', import.meta.url), 'utf8')).toContain('deploy/production.env');
    expect(settings.shards).toBeGreaterThan(1);
  });
});
