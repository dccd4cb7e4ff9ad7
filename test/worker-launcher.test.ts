import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

// scripts/worker.sh starts `node` from PATH; a stand-in node there prints the arguments it got, one per line.
const LAUNCHER = fileURLToPath(new URL('../scripts/worker.sh', import.meta.url));
const standInDirectory = mkdtempSync(join(tmpdir(), 'credits-worker-launcher-'));
writeFileSync(join(standInDirectory, 'node'), '#!/bin/sh\nfor argument in "$@"; do echo "$argument"; done\n');
chmodSync(join(standInDirectory, 'node'), 0o755);

afterAll(() => {
  rmSync(standInDirectory, { recursive: true, force: true });
});

function launch(env: Record<string, string>, args: string[] = []): { status: number | null; nodeArgs: string[]; stderr: string } {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== 'WORKER_HEAP_MB' && name !== 'NODE_OPTIONS'));
  const run = spawnSync('sh', [LAUNCHER, ...args], { env: { ...inherited, PATH: `${standInDirectory}:${process.env.PATH ?? ''}`, ...env }, encoding: 'utf8' });
  return { status: run.status, nodeArgs: run.stdout.split('\n').filter((line) => line !== ''), stderr: run.stderr };
}

describe('the worker launcher (npm run worker)', () => {
  it('starts the worker with a 256 MB heap limit when nothing says otherwise', () => {
    expect(launch({})).toEqual({ status: 0, nodeArgs: ['--max-old-space-size=256', '--import', 'tsx', 'src/worker/main.ts'], stderr: '' });
  });

  it('takes the limit from WORKER_HEAP_MB and passes more node options along', () => {
    expect(launch({ WORKER_HEAP_MB: '512' }, ['--inspect']).nodeArgs).toEqual(['--max-old-space-size=512', '--inspect', '--import', 'tsx', 'src/worker/main.ts']);
  });

  it('leaves the limit to NODE_OPTIONS when they set one', () => {
    expect(launch({ NODE_OPTIONS: '--max-old-space-size=1024', WORKER_HEAP_MB: '512' }).nodeArgs).toEqual(['--import', 'tsx', 'src/worker/main.ts']);
    expect(launch({ NODE_OPTIONS: '--enable-source-maps' }).nodeArgs[0]).toBe('--max-old-space-size=256');
  });

  it.each(['abc', '0', '064', '-1', '12.5', '100'])('refuses WORKER_HEAP_MB=%s and starts nothing', (value) => {
    const run = launch({ WORKER_HEAP_MB: value });
    expect(run.status).toBe(2);
    expect(run.nodeArgs).toEqual([]);
    expect(run.stderr).toContain('WORKER_HEAP_MB must');
  });
});
