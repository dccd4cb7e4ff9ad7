/**
 * A server run as a child process: what its failures show of its output. A Go server that crashes
 * (the Temporal CLI, the Temporal server) prints the reason first and then its goroutine stacks,
 * more lines than are kept; the reason must still be in the error.
 */
import { describe, expect, it } from 'vitest';
import { spawnChildServer } from '../src/devstack/child-server.js';

const REASON = 'panic: listen tcp 127.0.0.1:7243: bind: address already in use';

/** A child that prints `before` lines, then (optionally) a Go crash of `stackLines` lines, and exits 2; all on stderr, as Go servers print, so that the order is the order printed. */
function printing(before: number, crash: { stackLines: number } | undefined) {
  const script = [
    `i=0; while [ $i -lt ${before} ]; do echo "starting $i" >&2; i=$((i+1)); done`,
    ...(crash ? [`echo '${REASON}' >&2`, 'echo >&2', `i=0; while [ $i -lt ${crash.stackLines} ]; do echo "goroutine frame $i" >&2; i=$((i+1)); done`] : []),
    'exit 2',
  ].join('\n');
  return spawnChildServer({ name: 'stand-in server', executable: 'sh', args: ['-c', script] });
}

/** Once its output is read to the end: 'close' comes after its streams end, `exited` may come before. */
function outputRead(server: ReturnType<typeof printing>): Promise<void> {
  return new Promise((resolve) => server.child.once('close', () => { resolve(); }));
}

/** The output its failure message shows, line by line. */
function outputShown(server: ReturnType<typeof printing>): string[] {
  const [, shown = ''] = server.failure('exited').message.split('; its last output:\n');
  return shown.split('\n');
}

describe('a child server', () => {
  it("keeps a Go crash's reason when its stacks push it out of the last lines", async () => {
    const server = printing(10, { stackLines: 200 });
    await outputRead(server);
    const message = server.failure('exited').message;
    expect(message).toContain(REASON);
    expect(message).toContain('goroutine frame 199');
    expect(message).not.toContain('goroutine frame 100');
    expect(message).not.toContain('starting 9');
  });

  it('shows only its last lines when nothing crashed', async () => {
    const server = printing(100, undefined);
    await outputRead(server);
    const output = outputShown(server);
    expect(output).toHaveLength(40);
    expect(output[0]).toBe('starting 60');
    expect(output.at(-1)).toBe('starting 99');
  });

  it('shows a crash once when it is still among the last lines', async () => {
    const server = printing(3, { stackLines: 10 });
    await outputRead(server);
    const output = outputShown(server);
    expect(output.filter((line) => line === REASON)).toHaveLength(1);
    expect(output[0]).toBe('starting 0');
  });
});
