/**
 * The layers of ARCHITECTURE.md, checked on the source: no import cycle, no import from a lower
 * layer up, the leaves (contract, money) and the client free of server code, and the ledger's
 * internals kept to the ledger.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const LAYERED_DIRS = ['src', 'workflows', 'activities'];
const IMPORT = /^(?:import|export)\s[^;]*?from\s+'(\.[^']+)'/gms;

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Each file (relative to the repository) and the project files it imports. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of LAYERED_DIRS.flatMap(sourceFiles)) {
    const imports = [...readFileSync(join(ROOT, file), 'utf8').matchAll(IMPORT)]
      .map((match) => normalize(join(dirname(file), (match[1] ?? '').replace(/\.js$/, '.ts'))))
      .filter((path) => existsSync(join(ROOT, path)));
    graph.set(relative('.', file), imports);
  }
  return graph;
}

function cycles(graph: Map<string, string[]>): string[][] {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const found: string[][] = [];
  const visit = (file: string): void => {
    state.set(file, 'open');
    path.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === 'open') found.push([...path.slice(path.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    path.pop();
    state.set(file, 'done');
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
  return found;
}

/** What a file may import, by where it lives: the leaves import only leaves, the domain nothing above it. */
const RULES: { from: RegExp; forbidden: RegExp; why: string }[] = [
  { from: /^src\/(contract|client)\//, forbidden: /^(?!src\/(contract|client)\/|src\/money\.ts$)/, why: 'the contract and the client load no server code' },
  { from: /^src\/ui\//, forbidden: /^(?!src\/(ui|contract|client)\/|src\/money\.ts$)/, why: 'the browser code (console, widget) loads only the client and the contract' },
  { from: /^src\/metrics\//, forbidden: /^(?!src\/metrics\/)/, why: 'metrics are a leaf that every layer records into' },
  { from: /^src\/(ledger|catalog|periods|money)/, forbidden: /^(src\/(api|jobs|temporal|worker|devstack|cli|events)\/|workflows\/|activities\/)/, why: 'the ledger is below jobs, Temporal and the edges' },
  { from: /^src\/(jobs|events|providers|auth)\//, forbidden: /^(src\/(api|temporal|worker|devstack|cli)\/|workflows\/|activities\/)/, why: 'the domain is below Temporal and the edges' },
  { from: /^(src\/temporal|workflows|activities)\//, forbidden: /^src\/(api|cli|devstack)\//, why: 'Temporal code knows no HTTP, CLI or dev stack' },
];

describe('the architecture', () => {
  const graph = importGraph();

  it('has no import cycle', () => {
    expect(graph.size).toBeGreaterThan(50);
    expect(cycles(graph)).toEqual([]);
  });

  it('imports only downwards', () => {
    const upward = [...graph].flatMap(([file, imports]) =>
      RULES.filter((rule) => rule.from.test(file)).flatMap((rule) => imports.filter((target) => rule.forbidden.test(target)).map((target) => `${file} -> ${target}: ${rule.why}`)),
    );
    expect(upward).toEqual([]);
  });

  it("keeps the ledger's internals to the ledger", () => {
    const users = [...graph].filter(([file, imports]) => !file.startsWith('src/ledger/') && imports.includes('src/ledger/internals.ts')).map(([file]) => file);
    expect(users).toEqual([]);
  });
});
