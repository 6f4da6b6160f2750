#!/usr/bin/env bash
# End-to-end test of the README's Quickstart: on a fresh state, start the host as deploy/run.sh does (embedded
# Postgres, sandbox, demo), run the Quickstart's statements through the proxy with psql and check each printed
# output and the sandbox's state; then start again on the same data and check it is reused.
# Prints "N passed, N failed"; exits non-zero when a check failed.
set -uo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
configuration=${CONFIGURATION:-Release}
work=$(mktemp -d /tmp/sequin-quickstart.XXXXXX)
chmod 755 "$work"   # Postgres runs as the postgres OS user under root: it must reach the folder
passed=0; failed=0
check() { # name, command...
  local name=$1; shift
  if "$@" >/dev/null 2>&1; then passed=$((passed + 1)); echo "ok - $name"; else failed=$((failed + 1)); echo "not ok - $name"; fi
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

dotnet build "$root/src/Sequin.Host/Sequin.Host.csproj" -c "$configuration" --nologo -v quiet -clp:ErrorsOnly || { echo "0 passed, 1 failed"; exit 1; }
bin="$root/src/Sequin.Host/bin/$configuration/net10.0"
http_port=$(free_port); proxy_port=$(free_port); admin_key=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
host_pid=""
start_host() {
  SEQUIN__DEMO__ENABLED=true SEQUIN__DEMO__ACCOUNTS=20 SEQUIN__DEMO__PASSWORDFILE="$work/demo-password" \
  SEQUIN__HTTP__URLS="http://127.0.0.1:$http_port" SEQUIN__PROXY__PORT="$proxy_port" \
  SEQUIN__PLATFORM__EMBEDDED__DATADIRECTORY="$work/pg" SEQUIN__SECRETS__MASTERKEYFILE="$work/master.key" \
  SEQUIN__SANDBOX__SALESFORCE__ADMINKEY="$admin_key" \
    dotnet "$bin/Sequin.Host.dll" --contentRoot "$bin" >"$work/host.log" 2>&1 &
  host_pid=$!
  for _ in $(seq 1 120); do grep -q "Press Ctrl+C" "$work/host.log" && return 0; kill -0 "$host_pid" 2>/dev/null || break; sleep 0.5; done
  cat "$work/host.log"; return 1
}
stop_host() { [ -n "$host_pid" ] && kill -TERM "$host_pid" 2>/dev/null && wait "$host_pid" 2>/dev/null; host_pid=""; }
cleanup() { stop_host; rm -rf "$work"; }
trap cleanup EXIT

check "host starts on embedded defaults with the demo" start_host
proxy_url=$(grep 'Proxy URL' "$work/host.log" | awk '{print $3}')
login=$(grep 'Demo login' "$work/host.log" | sed 's/.*Demo login *//')
check "banner prints the proxy URL" test -n "$proxy_url"
check "banner prints the demo login" grep -q 'demo@sequin.local / demo-' <<<"$login"
check "banner prints the direct URL" grep -q 'Direct DB URL *postgres://' "$work/host.log"
check "banner prints the API reference" grep -q "API reference *http://127.0.0.1:$http_port/api/docs" "$work/host.log"

live() { [ "$(psql "$proxy_url" -At -c "select count(*) from salesforce._sync where state = 'live'")" = 4 ] && \
         [ "$(psql "$proxy_url" -At -c "select count(*) > 0 from salesforce.contact")" = t ]; }
wait_live() { for _ in $(seq 1 180); do live && return 0; sleep 0.5; done; return 1; }
check "the demo sync reaches live with rows" wait_live

sandbox="http://127.0.0.1:$http_port/sandbox/salesforce"
org_id=$(curl -s -H "X-Sandbox-Admin-Key: $admin_key" "$sandbox/_sandbox/orgs" | python3 -c 'import json,sys; print([o["orgId"] for o in json.load(sys.stdin) if o["name"]=="demo"][0])')
token=$(curl -s -X POST -H "X-Sandbox-Admin-Key: $admin_key" "$sandbox/_sandbox/orgs/$org_id/tokens" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
upstream_email() { curl -s -H "Authorization: Bearer $token" "$sandbox/services/data/v62.0/sobjects/Contact/$1" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("Email","") if isinstance(d, dict) else "GONE")'; }

out=$(psql "$proxy_url" -c "insert into salesforce.contact (first_name, last_name, email) values ('Paul', 'Atreides', 'paul.atreides@caladan.io');" 2>&1)
id=$(grep -oE '\b003[0-9A-Za-z]{15}\b' <<<"$out" | head -1)
check "insert answers changed_ids" grep -q 'changed_ids' <<<"$out"
check "insert answers INSERT 0 1" grep -q '^INSERT 0 1$' <<<"$out"
check "insert returns an 18-character Contact id" test -n "$id"
check "the contact exists in Salesforce" test "$(upstream_email "$id")" = "paul.atreides@caladan.io"

out=$(psql "$proxy_url" -c "update salesforce.contact set email = 'paul@dune.co', description = 'Moved to new planet called Dune' where id = '$id';" 2>&1)
check "update answers the same id" grep -q "$id" <<<"$out"
check "update answers UPDATE 1" grep -q '^UPDATE 1$' <<<"$out"
check "the update reached Salesforce" test "$(upstream_email "$id")" = "paul@dune.co"

out=$(psql "$proxy_url" -c "insert into salesforce.contact (first_name, last_name, email) values ('Paul', 'Dune', 'pauldune.co');" 2>&1)
check "invalid email is a Postgres error naming Salesforce" grep -qF 'ERROR:  [Salesforce] validation error: Email: invalid email address: pauldune.co' <<<"$out"
check "the error has the DETAIL" grep -qF 'DETAIL:  Key (email)=(pauldune.co) is not a valid email address.' <<<"$out"
check "the rejected row is not in the database" test "$(psql "$proxy_url" -At -c "select count(*) from salesforce.contact where email = 'pauldune.co'")" = 0

out=$(psql "$proxy_url" -c "delete from salesforce.contact where email = 'paul@dune.co';" 2>&1)
check "delete answers the id" grep -q "$id" <<<"$out"
check "delete answers DELETE 1" grep -q '^DELETE 1$' <<<"$out"
check "the contact is gone from Salesforce" test "$(upstream_email "$id")" = "GONE"

stop_host
check "Ctrl+C stops the embedded Postgres" test ! -f "$work/pg/data/postmaster.pid"
check "a second run starts on the same data" start_host
check "the second run prints the same demo login" grep -qF "$login" "$work/host.log"
proxy_url=$(grep 'Proxy URL' "$work/host.log" | awk '{print $3}')
check "the second run serves the synced rows at once" test "$(psql "$proxy_url" -At -c "select count(*) > 0 from salesforce.contact")" = t
check "the second run's sync is live again" wait_live

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
