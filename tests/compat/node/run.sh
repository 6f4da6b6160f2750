#!/usr/bin/env bash
# node-postgres (pg) and postgres.js through the Sequin proxy (node's test runner summary).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../_harness/start.sh"
cd "$here"
if [[ ! -d node_modules/pg || ! -d node_modules/postgres ]]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
node --test --test-concurrency=1 --test-reporter=tap
