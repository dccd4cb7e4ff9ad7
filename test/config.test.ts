import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, firstAdminToken, loadConfig, WORKER_DEFAULTS } from '../src/config.js';
import { loggableTemporal, temporalConnectionOptions } from '../src/temporal/connection.js';

function pemFiles(): { ca: string; cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'credits-config-'));
  const file = (name: string) => {
    const path = join(dir, name);
    writeFileSync(path, `-----BEGIN ${name}-----\n`);
    return path;
  };
  return { ca: file('ca.pem'), cert: file('client.pem'), key: file('client.key') };
}

function configError(env: NodeJS.ProcessEnv): string {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error('the configuration was accepted');
}

describe('the configuration', () => {
  it("prints the first admin token of API_TOKENS as a bearer token, without its scope (stack:prod printed 'admin:...', which the API refuses)", () => {
    const tokens = loadConfig({ API_TOKENS: 'read:reporting-0123456789,admin:operator-0123456789,legacy-token-0123456789' }).apiTokens ?? [];
    expect(firstAdminToken(tokens)).toBe('operator-0123456789');
    expect(() => firstAdminToken(loadConfig({ API_TOKENS: 'read:reporting-0123456789' }).apiTokens ?? [])).toThrow('API_TOKENS has no admin token');
  });

  it('reads API_TOKENS as scope:token entries, a token alone being admin, and names a bad entry by its place, never its content', () => {
    expect(loadConfig({ API_TOKENS: 'legacy-token-0123456789, read:reporting-0123456789,service:backend-0123456789' }).apiTokens).toEqual([
      { scope: 'admin', token: 'legacy-token-0123456789' },
      { scope: 'read', token: 'reporting-0123456789' },
      { scope: 'service', token: 'backend-0123456789' },
    ]);
    const unknownScope = configError({ API_TOKENS: 'owner:secret-0123456789abcdef' });
    expect(unknownScope).toContain('API_TOKENS: entry 1: what comes before ":" must be a scope, admin, service, read (a token alone is admin)');
    expect(unknownScope).not.toContain('secret-0123456789abcdef');
    expect(configError({ API_TOKENS: 'admin-token-0123456789,read:short' })).toContain('API_TOKENS: entry 2: each token must be at least 16 characters');
    expect(configError({ API_TOKENS: 'same-token-0123456789,read:same-token-0123456789' })).toContain('API_TOKENS: lists a token twice');
    expect(configError({ API_TOKENS: ' , ' })).toContain('API_TOKENS: must list at least one token');
    expect(loadConfig({ SESSION_TOKEN_SECRET: 'a-session-secret-of-32-characters' }).sessionTokenSecret).toBe('a-session-secret-of-32-characters');
    expect(configError({ SESSION_TOKEN_SECRET: 'too-short' })).toContain('SESSION_TOKEN_SECRET: must be at least 32 characters');
  });

  it('sizes the worker from WORKER_* variables, with the documented defaults', () => {
    expect(loadConfig({}).worker).toEqual(WORKER_DEFAULTS);
    const tuned = loadConfig({ WORKER_MAX_CACHED_WORKFLOWS: '250', WORKER_MAX_CONCURRENT_LOCAL_ACTIVITIES: '8', WORKER_DATABASE_POOL_SIZE: '8' });
    expect(tuned.worker).toMatchObject({ maxCachedWorkflows: 250, maxConcurrentLocalActivities: 8, databasePoolSize: 8, stickyTimeoutMs: WORKER_DEFAULTS.stickyTimeoutMs });
  });

  it("tunes a job's batches from JOB_* variables, and leaves the rest to the worker's defaults", () => {
    expect(loadConfig({}).jobs).toEqual({});
    expect(loadConfig({ JOB_PARALLEL_BATCHES: '3', JOB_MAX_IN_FLIGHT_RECORDS: '2000' }).jobs).toEqual({ parallelBatches: 3, maxInFlightRecords: 2_000 });
    expect(configError({ JOB_PARALLEL_BATCHES: '0' })).toContain('JOB_PARALLEL_BATCHES');
    expect(configError({ JOB_MAX_IN_FLIGHT_RECORDS: 'many' })).toContain('JOB_MAX_IN_FLIGHT_RECORDS');
  });

  it('serves metrics: /metrics open unless METRICS_ACCESS says otherwise, worker ports off unless given', () => {
    expect(loadConfig({}).metrics).toEqual({ access: 'open', workerPort: undefined, temporalPort: undefined });
    expect(loadConfig({ METRICS_ACCESS: 'token', WORKER_METRICS_PORT: '9464', WORKER_TEMPORAL_METRICS_PORT: '9465' }).metrics).toEqual({ access: 'token', workerPort: 9464, temporalPort: 9465 });
    expect(configError({ METRICS_ACCESS: 'public' })).toContain('METRICS_ACCESS');
    expect(configError({ WORKER_METRICS_PORT: '0' })).toContain('WORKER_METRICS_PORT: must be a port from 1 to 65535 (unset: off)');
    expect(configError({ WORKER_METRICS_PORT: '9464', WORKER_TEMPORAL_METRICS_PORT: '9464' })).toContain('WORKER_TEMPORAL_METRICS_PORT: is the same port as WORKER_METRICS_PORT');
  });

  it('lets the pages of CREDITS_WIDGET_ORIGINS call the widget routes: none by default, each an origin alone', () => {
    expect(loadConfig({}).widgetOrigins).toEqual([]);
    expect(loadConfig({ CREDITS_WIDGET_ORIGINS: 'https://app.example.com, http://localhost:5173' }).widgetOrigins).toEqual(['https://app.example.com', 'http://localhost:5173']);
    for (const bad of ['https://app.example.com/', 'https://app.example.com/billing', 'app.example.com', 'ftp://app.example.com', '*']) {
      expect(configError({ CREDITS_WIDGET_ORIGINS: `https://ok.example.com,${bad}` }), bad).toContain(`CREDITS_WIDGET_ORIGINS: entry 2 ("${bad}") must be an origin such as https://app.example.com`);
    }
  });

  it('refuses a bad variable with one line naming it', () => {
    expect(() => loadConfig({ WORKER_MAX_CACHED_WORKFLOWS: 'lots', WORKER_STICKY_TIMEOUT_MS: '5' })).toThrow(ConfigError);
    try {
      loadConfig({ WORKER_MAX_CACHED_WORKFLOWS: 'lots', WORKER_STICKY_TIMEOUT_MS: '5' });
    } catch (error) {
      const lines = (error as Error).message.split('\n').slice(1);
      expect(lines).toHaveLength(2);
      expect(lines[0]).toContain('WORKER_MAX_CACHED_WORKFLOWS');
      expect(lines[1]).toContain('WORKER_STICKY_TIMEOUT_MS');
    }
  });
});

describe('the Temporal connection settings', () => {
  it('connects in plain text to the dev server unless told otherwise', () => {
    const { temporal } = loadConfig({});
    expect(temporalConnectionOptions(temporal)).toEqual({ address: 'localhost:7233' });
  });

  it('uses mutual TLS with the given CA, client certificate and key, and checks the files at start-up', () => {
    const files = pemFiles();
    const { temporal } = loadConfig({ TEMPORAL_ADDRESS: 'temporal.internal:7233', TEMPORAL_TLS_CA: files.ca, TEMPORAL_TLS_CERT: files.cert, TEMPORAL_TLS_KEY: files.key, TEMPORAL_TLS_SERVER_NAME: 'temporal' });
    const options = temporalConnectionOptions(temporal);
    const tls = typeof options.tls === 'object' ? options.tls : {};
    expect(tls.serverNameOverride).toBe('temporal');
    expect(tls.serverRootCACertificate?.toString()).toBe('-----BEGIN ca.pem-----\n');
    expect(tls.clientCertPair?.crt.toString()).toBe('-----BEGIN client.pem-----\n');
    expect(tls.clientCertPair?.key.toString()).toBe('-----BEGIN client.key-----\n');
    expect(configError({ TEMPORAL_TLS_CA: join(files.ca, 'missing') })).toContain('TEMPORAL_TLS_CA: must be the path of a readable file');
    expect(configError({ TEMPORAL_TLS_CERT: files.cert })).toContain('TEMPORAL_TLS_CERT: set both or neither');
  });

  it('sends an API key over TLS (Temporal Cloud), and never logs it', () => {
    const { temporal } = loadConfig({ TEMPORAL_ADDRESS: 'acme.a1b2c.tmprl.cloud:7233', TEMPORAL_NAMESPACE: 'acme.a1b2c', TEMPORAL_API_KEY: 'secret-key-value' });
    expect(temporalConnectionOptions(temporal)).toEqual({ address: 'acme.a1b2c.tmprl.cloud:7233', tls: {}, apiKey: 'secret-key-value' });
    expect(JSON.stringify(loggableTemporal(temporal))).not.toContain('secret-key-value');
    expect(configError({ TEMPORAL_TLS: 'false', TEMPORAL_API_KEY: 'secret-key-value' })).toContain('TEMPORAL_TLS: is false');
  });
});
