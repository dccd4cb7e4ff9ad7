/**
 * The typed client is usable on its own: `credits/client` (the package export) loads the contract
 * and zod, nothing of the server (no hono, no ledger, no luxon, no Temporal, no pg).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));

/** Records every module the import resolves, through a resolve hook, and prints them as JSON. */
const PROBE = `
import { register } from 'node:module';
import { MessageChannel } from 'node:worker_threads';
const { port1, port2 } = new MessageChannel();
const loaded = new Set();
port1.on('message', (url) => loaded.add(url));
port1.unref();
const hooks = 'let port; export function initialize(data) { port = data.port; } ' +
  'export async function resolve(specifier, context, next) { const resolved = await next(specifier, context); port.postMessage(resolved.url); return resolved; }';
register('data:text/javascript,' + encodeURIComponent(hooks), { data: { port: port2 }, transferList: [port2] });
const client = await import('credits/client');
if (typeof client.createCreditsClient !== 'function') throw new Error('credits/client has no createCreditsClient');
await new Promise((resolve) => setTimeout(resolve, 200));
console.log(JSON.stringify([...loaded]));
`;

describe('the client package export', () => {
  it('loads only the client, the contract, money and zod', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', PROBE], { cwd: REPO_ROOT, timeout: 60_000 });
    const loaded = (JSON.parse(stdout.trim().split('\n').at(-1) ?? '[]') as string[]).filter((url) => url.startsWith('file:'));
    const files = loaded.map((url) => fileURLToPath(url).slice(REPO_ROOT.length));
    const own = files.filter((file) => !file.startsWith('node_modules/'));
    const packages = new Set(files.filter((file) => file.startsWith('node_modules/')).map((file) => file.split('/').slice(1, file.split('/')[1]?.startsWith('@') ? 3 : 2).join('/')));
    expect(own.length).toBeGreaterThan(0);
    expect(own.filter((file) => !/^src\/(client\/|contract\/|money\.ts$)/.test(file))).toEqual([]);
    expect([...packages].filter((name) => name !== 'zod' && name !== 'tsx')).toEqual([]);
    expect(own).toEqual(expect.arrayContaining(['src/client/client.ts', 'src/contract/schemas.ts']));
  });
});
