import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** CREDITS_API_URL and CREDITS_API_TOKEN of the stack it talks to. */
  api: { url: string; token: string };
  /** A variable given as undefined is unset. */
  env?: Record<string, string | undefined>;
  /** Sees the output as it comes. */
  onStdout?: (soFar: string) => void;
  /** How it is started: tsx on the sources by default, or the README's `npx credits`. */
  command?: readonly string[];
}

/** Runs `credits <args>` as an operator would, in the repository. */
export function runCli(args: string[], options: CliOptions): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, CREDITS_API_URL: options.api.url, CREDITS_API_TOKEN: options.api.token, ...options.env };
    for (const [name, value] of Object.entries(env)) if (value === undefined) Reflect.deleteProperty(env, name);
    const [command, ...prefix] = options.command ?? [process.execPath, '--import', 'tsx', 'src/cli/main.ts'];
    if (command === undefined) throw new Error('no command');
    const child = spawn(command, [...prefix, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      options.onStdout?.(stdout);
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      resolve({ code, stdout, stderr });
    });
  });
}

/** A successful run's stdout. */
export async function cliOutput(args: string[], options: CliOptions): Promise<string> {
  const run = await runCli(args, options);
  expect(run.stderr, `credits ${args.join(' ')}`).toBe('');
  expect(run.code, `credits ${args.join(' ')}`).toBe(0);
  return run.stdout;
}
