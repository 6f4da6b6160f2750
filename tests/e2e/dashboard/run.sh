#!/usr/bin/env bash
# End-to-end test of the dashboard: builds web/ and the host, starts the host (embedded Postgres, Salesforce
# sandbox, sync workers, Postgres proxy) on free ports, seeds a sandbox org, and drives headless Chromium
# (Debian's /usr/bin/chromium through playwright-core) through sign-up → connect → pick tables → live →
# connection instructions → SQL through the proxy. Prints node's TAP summary ("# pass N", "# fail N").
# Screenshots: tests/e2e/dashboard/screenshots/.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
CONFIGURATION=${CONFIGURATION:-Release}
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

fail() { echo "e2e/dashboard: $*" >&2; echo "# pass 0"; echo "# fail 1"; exit 1; }

chromium=${CHROMIUM:-/usr/bin/chromium}
[ -x "$chromium" ] || fail "Chromium not found at $chromium (apt-get install -y chromium)"

# Dependencies of this suite and of the dashboard, then the production build the host serves.
if [ ! -d "$here/node_modules" ] || [ "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error) || fail "npm ci failed in tests/e2e/dashboard"
fi
if [ ! -d "$root/web/node_modules" ] || [ "$root/web/package-lock.json" -nt "$root/web/node_modules/.package-lock.json" ]; then
  (cd "$root/web" && npm ci --no-audit --no-fund --loglevel=error) || fail "npm ci failed in web/"
fi
(cd "$root/web" && npm run build --silent >/dev/null) || fail "the dashboard build failed (cd web && npm run build)"

# E2E_SKIP_HOST_BUILD=1 reuses the host already built (quicker local iterations).
if [ -z "${E2E_SKIP_HOST_BUILD:-}" ]; then
  dotnet build "$root/src/Sequin.Host" -c "$CONFIGURATION" --nologo -v quiet -clp:ErrorsOnly || fail "dotnet build failed"
fi
bin="$root/src/Sequin.Host/bin/$CONFIGURATION/net10.0"
[ -f "$bin/Sequin.Host.dll" ] || fail "missing $bin/Sequin.Host.dll"

free_port() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
http_port=$(free_port); proxy_port=$(free_port)
while [ "$proxy_port" = "$http_port" ]; do proxy_port=$(free_port); done
work=$(mktemp -d /tmp/sequin-e2e-dashboard.XXXXXX)
chmod 755 "$work"
admin_key=$(node -e 'console.log(require("crypto").randomBytes(18).toString("hex"))')
base="http://127.0.0.1:$http_port"
log="$work/host.log"
host_pid=""

cleanup() {
  if [ -n "$host_pid" ] && kill -0 "$host_pid" 2>/dev/null; then
    kill -TERM "$host_pid" 2>/dev/null
    for _ in $(seq 1 60); do kill -0 "$host_pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$host_pid" 2>/dev/null && kill -KILL "$host_pid" 2>/dev/null
  fi
  if [ -n "${KEEP_E2E_WORKDIR:-}" ]; then echo "e2e/dashboard: kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

(
  cd "$bin" && exec env \
    SEQUIN__HTTP__URLS="$base" \
    SEQUIN__PLATFORM__EMBEDDED__DATADIRECTORY="$work/pg" \
    SEQUIN__PROXY__PORT="$proxy_port" \
    SEQUIN__SANDBOX__SALESFORCE__ADMINKEY="$admin_key" \
    SEQUIN__WEB__ROOT="$root/web/dist" \
    SEQUIN__SECRETS__MASTERKEYFILE="$work/master.key" \
    dotnet Sequin.Host.dll
) >"$log" 2>&1 &
host_pid=$!

ready=""
for _ in $(seq 1 240); do
  if ! kill -0 "$host_pid" 2>/dev/null; then break; fi
  if curl -fsS "$base/health/ready" >/dev/null 2>&1; then ready=1; break; fi
  sleep 0.5
done
if [ -z "$ready" ]; then
  echo "--- host log (tail)"; tail -n 60 "$log"
  fail "the host did not become ready at $base/health/ready"
fi

org_json=$(curl -fsS -X POST "$base/sandbox/salesforce/_sandbox/orgs" -H "X-Sandbox-Admin-Key: $admin_key" -H 'Content-Type: application/json' \
  -d '{"name":"acme","seed":{"accounts":20,"contactsPerAccount":3,"opportunitiesPerAccount":1,"randomSeed":42}}') \
  || { tail -n 40 "$log"; fail "could not create the sandbox org"; }
org_id=$(node -e 'const o=JSON.parse(process.argv[1]);console.log(o.orgId??o.id)' "$org_json")

rm -rf "$here/screenshots"; mkdir -p "$here/screenshots"
cd "$here"
E2E_BASE_URL="$base" E2E_ADMIN_KEY="$admin_key" E2E_SANDBOX_ORG_ID="$org_id" E2E_SANDBOX_ORG_NAME=acme E2E_CHROMIUM="$chromium" \
  node --test --test-reporter=tap --test-concurrency=1 dashboard.test.mjs 2>&1 | tee "$work/tap.log"
status=${PIPESTATUS[0]}
if [ "$status" -ne 0 ]; then
  echo "--- host log (last 80 lines)"; tail -n 80 "$log"
fi
echo "screenshots: $here/screenshots"
exit "$status"
