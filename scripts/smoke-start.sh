#!/usr/bin/env bash
# The README's first command, as a fresh machine runs it: `npm start` on the embedded default
# (embedded PostgreSQL, queue on PostgreSQL, the demo federation, the portal). Waits for the WES
# service-info, the DRS service-info, the GA4GH service registry and the portal's welcome page,
# submits nothing, and stops the broker with SIGTERM (it must exit by itself).
set -euo pipefail
cd "$(dirname "$0")/.."
port="${SMOKE_PORT:-18080}"
data="$(mktemp -d)"
# embedded-postgres runs as its own user when started by root: it must be able to enter the directory.
chmod 755 "$data"
log="$data/start.log"
# Its own process group, as in a terminal: SIGTERM goes to npm, tsx and the broker alike.
PORT="$port" DATA_DIR="$data/data" setsid npm start >"$log" 2>&1 &
pid=$!
alive() { pgrep -g "$pid" >/dev/null 2>&1; }
cleanup() { kill -TERM -- "-$pid" 2>/dev/null || true; for _ in $(seq 1 30); do alive || break; sleep 1; done; kill -KILL -- "-$pid" 2>/dev/null || true; rm -rf "$data"; }
trap cleanup EXIT
base="http://127.0.0.1:$port"
for _ in $(seq 1 180); do
  if curl -fsS "$base/ga4gh/wes/v1/service-info" >/dev/null 2>&1; then break; fi
  if ! alive; then echo "npm start exited:"; tail -50 "$log"; exit 1; fi
  sleep 1
done
check() {
  local path="$1" expect="$2"
  local body
  body="$(curl -fsS "$base$path")" || { echo "GET $path failed"; tail -50 "$log"; exit 1; }
  grep -q "$expect" <<<"$body" || { echo "GET $path did not contain '$expect'"; echo "$body" | head -c 2000; exit 1; }
  echo "ok: GET $path"
}
check /ga4gh/wes/v1/service-info '"workflow_type_versions"'
check /ga4gh/drs/v1/service-info '"maxBulkRequestLength"'
check /ga4gh/registry/v1/services 'backends.mis2-demo"'
check / '<html'
# The demo federation: four backends (two Cloudgene, a WES node, DNAstack Workbench).
n="$(curl -fsS "$base/ga4gh/registry/v1/services" | grep -o '"id":"org.ga4gh.imputation-broker.backends.[^"]*"' | wc -l)"
[ "$n" -eq 4 ] || { echo "expected the 4 demo backends in the registry, saw $n"; exit 1; }
echo "ok: $n backends in the registry"
kill -TERM -- "-$pid"
for _ in $(seq 1 30); do alive || break; sleep 1; done
if alive; then echo "npm start did not stop within 30 s of SIGTERM:"; pgrep -ag "$pid"; exit 1; fi
echo "ok: every process stopped on SIGTERM (broker, embedded PostgreSQL, simulators)"
