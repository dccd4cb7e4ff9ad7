/**
 * Starting the Temporal dev server: the CLI picks the ports of its internal services itself, and
 * now and then one is taken by the time it binds it, so it panics at start-up. One start that ends
 * that way is followed by another; a second such end is reported with the server's output.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { temporalCliPath } from '../src/devstack/temporal-binaries.js';
import { startTemporalDevServer } from '../src/devstack/temporal-dev-server.js';

const PANIC = 'panic: listen tcp 127.0.0.1:7243: bind: address already in use';

/** A stand-in for the CLI that panics on its first `failingStarts` starts, then is the real one; each start is a line in `starts`. */
function flakyCli(failingStarts: number): { executable: string; starts: () => number } {
  const directory = mkdtempSync(join(tmpdir(), 'credits-dev-server-start-'));
  const startsFile = join(directory, 'starts');
  writeFileSync(startsFile, '');
  const executable = join(directory, 'temporal');
  writeFileSync(
    executable,
    [
      '#!/bin/sh',
      `echo start >> '${startsFile}'`,
      `if [ "$(wc -l < '${startsFile}')" -le ${failingStarts} ]; then echo '${PANIC}' >&2; exit 2; fi`,
      `exec '${temporalCliPath()}' "$@"`,
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  return { executable, starts: () => readFileSync(startsFile, 'utf8').split('\n').filter(Boolean).length };
}

/** A stand-in for the CLI that never answers and, like the real one, exits with code 0 when told to stop. */
function silentCli(): { executable: string; starts: () => number } {
  const directory = mkdtempSync(join(tmpdir(), 'credits-dev-server-silent-'));
  const startsFile = join(directory, 'starts');
  writeFileSync(startsFile, '');
  const executable = join(directory, 'temporal');
  writeFileSync(executable, ['#!/bin/sh', `echo start >> '${startsFile}'`, "trap 'exit 0' TERM", 'while true; do sleep 0.1; done', ''].join('\n'), { mode: 0o755 });
  return { executable, starts: () => readFileSync(startsFile, 'utf8').split('\n').filter(Boolean).length };
}

describe('startTemporalDevServer', () => {
  it('starts the server once more when it exits during start-up, and that one answers', async () => {
    const cli = flakyCli(1);
    const server = await startTemporalDevServer({ headless: true, executable: cli.executable });
    try {
      expect(cli.starts()).toBe(2);
      const connection = await Connection.connect({ address: server.address });
      try {
        const { namespaceInfo } = await connection.workflowService.describeNamespace({ namespace: server.namespace });
        expect(namespaceInfo?.name).toBe(server.namespace);
      } finally {
        await connection.close();
      }
    } finally {
      await server.stop();
    }
  });

  it('gives up when the second start exits too, with what the server printed', async () => {
    const cli = flakyCli(2);
    await expect(startTemporalDevServer({ headless: true, executable: cli.executable })).rejects.toThrow(/exited during start-up \(code 2\)[\s\S]*bind: address already in use/);
    expect(cli.starts()).toBe(2);
  });

  it('does not start it again when it was stopped for not answering in time', async () => {
    const cli = silentCli();
    await expect(startTemporalDevServer({ headless: true, executable: cli.executable, startTimeoutMs: 2_000 })).rejects.toThrow(/was not ready in 2 s/);
    expect(cli.starts()).toBe(1);
  });
});
