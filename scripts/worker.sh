#!/bin/sh
# Starts the worker (`npm run worker`, the container image, `npm run stack:prod`) with a V8 heap
# limit, so that its memory is bounded by configuration and not by the number of accounts it serves:
# without one, garbage from replaying evicted workflows grows with the accounts (README, "Sizing
# the worker"). The limit must be a flag on node's command line: V8 sizes its heap before any code
# runs. `exec` keeps one process, so a signal sent to this pid (SIGTERM, SIGKILL) reaches the worker.
#
#   WORKER_HEAP_MB  V8 old-space limit in MB (--max-old-space-size), default 256
#   NODE_OPTIONS    one that sets --max-old-space-size itself wins over WORKER_HEAP_MB
#   arguments       more node options, e.g. `npm run worker -- --inspect`
set -eu

heap_mb="${WORKER_HEAP_MB:-256}"
case "$heap_mb" in
  '' | *[!0-9]* | 0*)
    echo "WORKER_HEAP_MB must be a positive whole number of MB, got \"$heap_mb\"" >&2
    exit 2
    ;;
esac
if [ "$heap_mb" -lt 128 ]; then
  echo "WORKER_HEAP_MB must be at least 128 (the SDK and the workflow bundle alone need about 100 MB), got $heap_mb" >&2
  exit 2
fi

case " ${NODE_OPTIONS:-} " in
  *--max-old-space-size*) heap_flag='' ;;
  *) heap_flag="--max-old-space-size=$heap_mb" ;;
esac

cd "$(dirname "$0")/.."
# shellcheck disable=SC2086 # an empty heap_flag must vanish, not become an empty argument
exec node $heap_flag "$@" --import tsx src/worker/main.ts
