#!/usr/bin/env bash
# Checks docker-compose.yml with `docker compose config` (syntax, interpolation, references), as CI
# does. No Docker engine is needed, only the docker CLI and its compose plugin.
#
# When `docker compose` is missing (the CI machines have the docker CLI without the plugin, and no
# route to GitHub or Docker's download site), the plugin is built from its Go module, pinned below,
# through the Go module proxy (whose checksums the go command verifies), and installed as
# ${DOCKER_CONFIG:-~/.docker}/cli-plugins/docker-compose. That takes about three minutes on a
# 2-core machine, once: later runs find the plugin and skip the build.
#
# Why this version: v5.6.0 and later need a dependency version that the module proxy does not serve
# (github.com/DefangLabs/secret-detector), and v5.6.0 also needs go >= 1.26.8.
#
# Usage: bash scripts/check-compose.sh
set -euo pipefail

COMPOSE_MODULE="github.com/docker/compose/v5"
COMPOSE_VERSION="v5.5.1"

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PLUGIN_DIR="${DOCKER_CONFIG:-${HOME}/.docker}/cli-plugins"

log() { printf '[check-compose] %s\n' "$*"; }
fail() { printf '[check-compose] ERROR: %s\n' "$*" >&2; exit 1; }

command -v docker >/dev/null 2>&1 || fail "the docker CLI is not installed"

install_compose_plugin() {
  command -v go >/dev/null 2>&1 || fail "docker compose is missing and there is no Go toolchain to build it"
  local work started dir
  started=${SECONDS}
  work="$(mktemp -d "${TMPDIR:-/tmp}/compose-build.XXXXXX")"
  # A private module and build cache, removed afterwards: the installed binary is what is kept.
  export GOPATH="${work}/gopath" GOMODCACHE="${work}/mod" GOCACHE="${work}/cache"
  export GOTOOLCHAIN=local GOFLAGS="-buildvcs=false -mod=readonly" CGO_ENABLED=0
  cleanup() { go clean -modcache >/dev/null 2>&1 || true; rm -rf "${work}"; }
  trap cleanup EXIT

  log "docker compose is missing: building ${COMPOSE_MODULE}@${COMPOSE_VERSION} with $(go version | cut -d' ' -f3) (takes a few minutes)"
  # `go install module/cmd@version` refuses this module (its go.mod has exclude directives), so the
  # module is downloaded and built as the main module, with its own go.mod and go.sum.
  dir="$(go mod download -json "${COMPOSE_MODULE}@${COMPOSE_VERSION}" \
    | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
  [[ -n "${dir}" && -d "${dir}" ]] || fail "could not download ${COMPOSE_MODULE}@${COMPOSE_VERSION}"
  (cd "${dir}" && go build -trimpath \
    -ldflags "-s -w -X ${COMPOSE_MODULE}/internal.Version=${COMPOSE_VERSION}" \
    -o "${work}/docker-compose" ./cmd) || fail "building docker compose failed"

  mkdir -p "${PLUGIN_DIR}"
  install -m 0755 "${work}/docker-compose" "${PLUGIN_DIR}/docker-compose"
  cleanup
  trap - EXIT
  log "installed ${PLUGIN_DIR}/docker-compose in $((SECONDS - started))s"
}

if ! docker compose version >/dev/null 2>&1; then
  install_compose_plugin
  docker compose version >/dev/null 2>&1 || fail "docker compose still does not run after installing ${PLUGIN_DIR}/docker-compose"
fi

cd "${REPO_ROOT}"
docker compose -f docker-compose.yml config --quiet || fail "docker-compose.yml is not valid (see above)"
echo "docker-compose.yml: valid ($(docker compose version --short 2>/dev/null || echo 'docker compose'))"
