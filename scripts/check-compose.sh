#!/usr/bin/env bash
# Lints docker-compose.yml with dclint (schema + best practices). No docker engine needed.
# Fails on errors; prints warnings. Usage: scripts/check-compose.sh [compose-file...]
set -euo pipefail
cd "$(dirname "$0")/.."
files=("$@")
[ ${#files[@]} -gt 0 ] || files=(docker-compose.yml)
# The locally installed dclint (devDependency): never fetched at check time.
exec ./node_modules/.bin/dclint --max-warnings -1 "${files[@]}"
