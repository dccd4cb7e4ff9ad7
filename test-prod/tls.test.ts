/**
 * Temporal over mutual TLS, as a self-hosted cluster or Temporal Cloud requires it: the real server
 * with a self-signed CA, and the settings the API and the worker read (TEMPORAL_TLS_*) taking them there.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { startEmbeddedPostgres, type RunningPostgres } from '../src/devstack/postgres.js';
import { readProductionSettings } from '../src/devstack/prod.js';
import { startTemporalServer, type FrontendTls, type RunningTemporalServer } from '../src/devstack/temporal-server.js';
import { temporalConnectionOptions } from '../src/temporal/connection.js';

/** A CA, a server certificate for localhost and a client certificate, all signed by the CA. */
function certificates(dir: string): FrontendTls {
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=credits-test-ca', '-keyout', 'ca.key', '-out', 'ca.pem');
  // Extensions make them X.509 v3 certificates, the only version the worker's TLS (rustls) takes.
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  writeFileSync(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const name of ['server', 'client'] as const) {
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${name === 'server' ? 'localhost' : 'credits-worker'}`, '-keyout', `${name}.key`, '-out', `${name}.csr`);
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-out', `${name}.pem`, '-extfile', `${name}.ext`);
  }
  return {
    caFile: join(dir, 'ca.pem'),
    certFile: join(dir, 'server.pem'),
    keyFile: join(dir, 'server.key'),
    clientCertFile: join(dir, 'client.pem'),
    clientKeyFile: join(dir, 'client.key'),
    serverName: 'localhost',
  };
}

let postgres: RunningPostgres;
let temporal: RunningTemporalServer;
let tls: FrontendTls;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'credits-tls-'));
  tls = certificates(dir);
  postgres = await startEmbeddedPostgres({ unsafeFast: true });
  const settings = readProductionSettings();
  temporal = await startTemporalServer({ version: settings.temporalServerVersion, dataDir: join(dir, 'temporal'), postgresUrl: postgres.url, shards: 4, namespace: 'default', retentionDays: 1, tls });
});

afterAll(async () => {
  await temporal.stop();
  await postgres.stop();
});

describe('Temporal over mutual TLS', () => {
  it('the API and the worker connect with TEMPORAL_TLS_CA, TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY', async () => {
    const config = loadConfig({ TEMPORAL_ADDRESS: temporal.address, TEMPORAL_TLS_CA: tls.caFile, TEMPORAL_TLS_CERT: tls.clientCertFile, TEMPORAL_TLS_KEY: tls.clientKeyFile, TEMPORAL_TLS_SERVER_NAME: 'localhost' });
    const client = await Connection.connect(temporalConnectionOptions(config.temporal));
    try {
      const { namespaceInfo } = await client.workflowService.describeNamespace({ namespace: 'default' });
      expect(namespaceInfo?.name).toBe('default');
    } finally {
      await client.close();
    }
    const worker = await NativeConnection.connect(temporalConnectionOptions(config.temporal));
    await worker.close();
  });

  it('is refused without the client certificate, and in plain text', async () => {
    const serverOnly = loadConfig({ TEMPORAL_ADDRESS: temporal.address, TEMPORAL_TLS_CA: tls.caFile, TEMPORAL_TLS_SERVER_NAME: 'localhost' });
    const withoutCertificate = async () => {
      const connection = await Connection.connect({ ...temporalConnectionOptions(serverOnly.temporal), connectTimeout: '3s' });
      try {
        await connection.workflowService.describeNamespace({ namespace: 'default' });
      } finally {
        await connection.close();
      }
    };
    await expect(withoutCertificate()).rejects.toThrow();
    await expect(Connection.connect({ address: temporal.address, connectTimeout: '3s' }).then((connection) => connection.workflowService.describeNamespace({ namespace: 'default' }))).rejects.toThrow();
  });
});
