#!/usr/bin/env bash
# Builds the real Temporal server (the same server as the temporalio/server image) and its SQL
# schema tool from the Go module go.temporal.io/server, once, into .tools/temporal-server/<version>:
#   bin/server             -> the Temporal server (frontend, history, matching, worker services)
#   bin/temporal-sql-tool  -> creates and migrates its PostgreSQL schema
#   schema/                -> the schema files shipped in the module (postgresql/v12/...)
# and the Temporal Web UI (github.com/temporalio/ui-server) into .tools/temporal-ui/<version>.
# About five minutes on 2 cores the first time; then a no-op. Needs Go >= 1.26.10: the go command
# fetches the go1.27.3 toolchain from the Go module proxy (GOTOOLCHAIN below).
#
# Usage: npm run tools:install-server        FORCE=1 rebuilds.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# The version docker-compose.yml runs too (deploy/production.env).
TEMPORAL_SERVER_VERSION="v$(sed -n 's/^TEMPORAL_SERVER_VERSION=//p' "${REPO_ROOT}/deploy/production.env")"
TEMPORAL_UI_VERSION="v$(sed -n 's/^TEMPORAL_UI_VERSION=//p' "${REPO_ROOT}/deploy/production.env")"
export GOTOOLCHAIN="${GOTOOLCHAIN:-go1.27.3}"
TARGET="${REPO_ROOT}/.tools/temporal-server/${TEMPORAL_SERVER_VERSION}"
UI_TARGET="${REPO_ROOT}/.tools/temporal-ui/${TEMPORAL_UI_VERSION}"
log() { printf '[tools:install-server] %s\n' "$*"; }

if [[ "${FORCE:-0}" != "1" && -x "${TARGET}/bin/server" && -x "${TARGET}/bin/temporal-sql-tool" && -d "${TARGET}/schema/postgresql" && -x "${UI_TARGET}/bin/server" ]]; then
  exit 0
fi
command -v go >/dev/null || { log "ERROR: the go command is not installed"; exit 1; }
mkdir -p "${TARGET}/bin"
started=$(date +%s)
log "building go.temporal.io/server ${TEMPORAL_SERVER_VERSION} (server and temporal-sql-tool) with ${GOTOOLCHAIN}; the first build takes a few minutes"
GOBIN="${TARGET}/bin" go install "go.temporal.io/server/cmd/server@${TEMPORAL_SERVER_VERSION}"
GOBIN="${TARGET}/bin" go install "go.temporal.io/server/cmd/tools/sql@${TEMPORAL_SERVER_VERSION}"
mv -f "${TARGET}/bin/sql" "${TARGET}/bin/temporal-sql-tool"
module_dir="$(go env GOMODCACHE)/go.temporal.io/server@${TEMPORAL_SERVER_VERSION}"
rm -rf "${TARGET}/schema" && cp -r "${module_dir}/schema" "${TARGET}/schema" && chmod -R u+w "${TARGET}/schema"
# The Web UI: the ui-server module embeds the built UI (v2.58 needs module versions the proxy does not serve).
mkdir -p "${UI_TARGET}/bin"
GOBIN="${UI_TARGET}/bin" go install "github.com/temporalio/ui-server/v2/cmd/server@${TEMPORAL_UI_VERSION}"
log "built in $(( $(date +%s) - started )) s: ${TARGET}/bin, ${UI_TARGET}/bin"
