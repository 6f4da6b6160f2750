#!/usr/bin/env bash
# pgbench through the Sequin proxy in all three protocol modes: initialisation (COPY passes through), the
# select-only built-in script, and a write script on a synced table (every INSERT applied upstream first).
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../_harness/start.sh"
passed=0; failed=0
check() { # name, expected pattern, actual
  if grep -qE -- "$2" <<<"$3"; then passed=$((passed + 1)); echo "ok - $1"
  else failed=$((failed + 1)); echo "not ok - $1"; sed 's/^/#   /' <<<"$3" | tail -20; fi
}
direct() { PGPORT=$DIRECT_PORT PGUSER=$DIRECT_USER PGPASSWORD=$DIRECT_PASSWORD psql -X -At -c "$1" 2>&1; }

out=$(PGUSER=$BENCH_USER PGPASSWORD=$BENCH_PASSWORD PGDATABASE=bench pgbench -i -s 1 -q 2>&1; echo "exit=$?")
check "pgbench -i through the proxy (COPY)" 'exit=0' "$out"

for mode in simple extended prepared; do
  out=$(PGUSER=$BENCH_USER PGPASSWORD=$BENCH_PASSWORD PGDATABASE=bench pgbench -n -S -M "$mode" -c 4 -j 2 -T 3 2>&1; echo "exit=$?")
  check "pgbench -S -M $mode" 'number of failed transactions: 0 .*exit=0|exit=0' "$(tr '\n' ' ' <<<"$out")"
  check "pgbench -S -M $mode processed transactions" 'number of transactions actually processed: [1-9]' "$out"
done

for mode in simple extended prepared; do
  out=$(pgbench -n -M "$mode" -c 2 -j 2 -t 25 -f "$here/write.sql" 2>&1; echo "exit=$?")
  check "pgbench write script -M $mode (insert on a synced table)" 'number of transactions actually processed: 50/50' "$out"
done

db=$(direct "select count(*) from salesforce.account where name like 'pgbench %'")
up=$(curl -fsS "$UPSTREAM_URL/upstream/Account" | /usr/bin/python3 -c 'import json,sys; print(sum(1 for r in json.load(sys.stdin).values() if (r.get("Name") or "").startswith("pgbench ")))')
check "database and upstream agree (150 inserts)" "^150$" "$db"
check "upstream holds the same 150" "^$db\$" "$up"
check "every stored id is an upstream id" '^0$' "$(direct "select count(*) from salesforce.account where id like '_sequin_tmp_%'")"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
