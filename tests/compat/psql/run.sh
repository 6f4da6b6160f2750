#!/usr/bin/env bash
# psql (libpq, simple Query protocol) through the Sequin proxy: reads, writes with changed_ids, a rejected write,
# a transaction with the ROLLBACK warning, TLS, and the direct-write refusal. Asserts the database and the
# upstream (the sandbox's Salesforce org, read over its REST API) agree. Prints "N passed, N failed".
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../_harness/start.sh"

passed=0; failed=0
check() { # name, expected (grep -E pattern), actual
  if grep -qE -- "$2" <<<"$3"; then passed=$((passed + 1)); echo "ok - $1"
  else failed=$((failed + 1)); echo "not ok - $1"; echo "#   expected /$2/ in:"; sed 's/^/#   /' <<<"$3"; fi
}
q() { psql -X -q -v ON_ERROR_STOP=0 -At "$@" 2>&1; }
direct() { PGPORT=$DIRECT_PORT PGUSER=$DIRECT_USER PGPASSWORD=$DIRECT_PASSWORD psql -X -At -c "$1" 2>&1; }
upstream() { curl -fsS "$UPSTREAM_URL/upstream/$1"; }

check "connects as the backend role" "^$BACKEND_ROLE|$PGDATABASE\$" "$(q -c 'select current_user, current_database()')"
check "TLS (sslmode=require)" 'SSL connection \(protocol: TLS' "$(PGSSLMODE=require psql -X -c '\conninfo' 2>&1)"
check "reads pass through" "^$(direct 'select count(*) from salesforce.contact')\$" "$(q -c 'select count(*) from salesforce.contact')"
check "the synced rows are the sandbox's" "^$(upstream Contact | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')\$" "$(q -c 'select count(*) from salesforce.contact')"

out=$(psql -X -c "insert into salesforce.contact (first_name, last_name, email) values ('Paul', 'Atreides', 'paul.atreides@caladan.io')" 2>&1)
check "insert answers changed_ids" 'changed_ids' "$out"
check "insert tag is exact" 'INSERT 0 1' "$out"
id=$(grep -oE '\b003[0-9A-Za-z]{15}\b' <<<"$out" | head -1)
check "insert returns an 18-character Contact id" '^003[0-9A-Za-z]{15}$' "$id"
check "database holds the upstream id" "^$id\$" "$(direct "select id from salesforce.contact where email = 'paul.atreides@caladan.io'")"
check "upstream holds the record" "\"$id\":\\{[^}]*\"Email\":\"paul.atreides@caladan.io\"" "$(upstream Contact)"

out=$(psql -X -c "update salesforce.contact set email = 'paul@dune.co', title = 'Duke' where id = '$id'" 2>&1)
check "update tag + changed_ids" "UPDATE 1" "$out"
check "upstream got the update" '"Email":"paul@dune.co"' "$(upstream Contact)"

out=$(psql -X -v VERBOSITY=verbose -c "update salesforce.contact set email = 'pauldune.co' where id = '$id'" 2>&1)
check "rejected write: SQLSTATE 23514" 'ERROR:  23514' "$out"
check "rejected write: message names the source" '\[Salesforce\] validation error' "$out"
check "rejected write: DETAIL in Postgres style" 'DETAIL:  Key \(email\)=\(pauldune.co\) is not a valid email address.' "$out"
check "rejected write: column field" 'COLUMN NAME:  email' "$out"
check "rejected write left the database unchanged" '^paul@dune.co$' "$(direct "select email from salesforce.contact where id = '$id'")"

out=$(psql -X -c "insert into salesforce.contact (last_name, email) values ('Jessica', 'jessica@caladan.io') returning id, last_name" 2>&1)
check "RETURNING shows the upstream id" '003[0-9A-Za-z]{15} *\| Jessica' "$out"

# Upstream-set values are written back before the commit: RETURNING and the stored row equal the sandbox's record.
upstream_fields() { upstream Account | python3 -c 'import json,sys; r=json.load(sys.stdin)[sys.argv[1]]; print(*(r[f] for f in sys.argv[2:]))' "$@"; }
out=$(q -F '|' -c "insert into salesforce.account (name) values ('House Ordos') returning id, created_date, system_modstamp, owner_id")
acc=$(cut -d'|' -f1 <<<"$out")
check "RETURNING carries upstream-set values (created_date, system_modstamp, owner_id)" '^001[0-9A-Za-z]{15}\|[0-9]{4}-[^|]+\|[0-9]{4}-[^|]+\|005' "$out"
check "RETURNING equals the committed row" "^$(sed 's/[][|.+()^$*?]/\\&/g' <<<"$out")\$" \
  "$(q -F '|' -c "select id, created_date, system_modstamp, owner_id from salesforce.account where id = '$acc'")"
read -r cd sm own <<<"$(upstream_fields "$acc" CreatedDate SystemModstamp OwnerId)"
check "the stored row equals the sandbox's record (CreatedDate, SystemModstamp, OwnerId)" '^t$' \
  "$(direct "select created_date = '$cd'::timestamptz and system_modstamp = '$sm'::timestamptz and owner_id = '$own' from salesforce.account where id = '$acc'")"
out=$(q -c "update salesforce.account set name = 'House Ordos (Ix)' where id = '$acc' returning system_modstamp")
read -r sm2 <<<"$(upstream_fields "$acc" SystemModstamp)"
check "an update's RETURNING carries the new SystemModstamp" '^t$' "$(q -c "select '$out'::timestamptz = '$sm2'::timestamptz and '$sm2'::timestamptz > '$sm'::timestamptz")"
check "the stored SystemModstamp is the sandbox's after an update" '^t$' "$(direct "select system_modstamp = '$sm2'::timestamptz from salesforce.account where id = '$acc'")"

out=$(psql -X -f - 2>&1 <<'SQL'
begin;
insert into salesforce.account (name) values ('House Atreides');
rollback;
select 'after rollback: ' || count(*) from salesforce.account where name = 'House Atreides';
SQL
)
check "ROLLBACK after a write warns that upstream changes persisted" 'WARNING:  ROLLBACK did not undo' "$out"
check "warned change stays upstream" '"Name":"House Atreides"' "$(upstream Account)"
# Checked in the same session right after the ROLLBACK: a sync poll (every second) brings the persisted record back.
check "the rollback removed it from the database" 'after rollback: 0' "$out"
# The database never drifts from the API for long: the sync picks the persisted record up again.
for _ in $(seq 1 60); do [[ $(direct "select count(*) from salesforce.account where name = 'House Atreides'") == 1 ]] && break; sleep 0.5; done
check "the sync brings the persisted record back" '^1$' "$(direct "select count(*) from salesforce.account where name = 'House Atreides'")"

out=$(psql -X -f - 2>&1 <<'SQL'
begin;
insert into salesforce.account (name) values ('House Harkonnen');
update salesforce.account set name = 'House Harkonnen (Giedi Prime)' where name = 'House Harkonnen';
commit;
SQL
)
check "transaction commit" 'COMMIT' "$out"
check "committed rows agree" '^1$' "$(direct "select count(*) from salesforce.account where name = 'House Harkonnen (Giedi Prime)'")"
check "committed rows upstream" 'House Harkonnen \(Giedi Prime\)' "$(upstream Account)"

out=$(q -c "insert into salesforce.account (name) select 'bulk ' || g from generate_series(1, 201) g")
check "more than 200 rows refused before upstream" 'too many rows' "$out"

out=$(PGPORT=$DIRECT_PORT PGUSER=$READER_USER PGPASSWORD=$READER_PASSWORD psql -X -c "delete from salesforce.contact" 2>&1)
check "direct write by the read role is refused by grants" 'permission denied for table contact' "$out"

out=$(q -c "delete from salesforce.contact where email = 'paul@dune.co'")
check "delete through the proxy" "^$id\$" "$out"
check "delete applied upstream" '^0$' "$(upstream Contact | grep -c "$id")"

count_up() { upstream "$1" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
for table in contact account; do
  object=${table^}
  check "database and upstream agree on ${table}s" "^$(count_up "$object")\$" "$(direct "select count(*) from salesforce.$table")"
done
agree=$(python3 - "$UPSTREAM_URL" <<'PY'
import json, os, subprocess, sys, urllib.request
up = json.load(urllib.request.urlopen(sys.argv[1] + "/upstream/Contact"))
rows = subprocess.run(["psql", "-X", "-At", "-F", "\t", "-h", "127.0.0.1", "-p", os.environ["DIRECT_PORT"], "-U", "postgres",
                       "-c", "select id, coalesce(email, ''), coalesce(title, ''), last_name from salesforce.contact"],
                      env=dict(os.environ, PGPASSWORD=os.environ["DIRECT_PASSWORD"]), capture_output=True, text=True, check=True).stdout
db = {r.split("\t")[0]: r.split("\t")[1:] for r in rows.splitlines()}
diff = [i for i in set(up) | set(db) if i not in up or i not in db or db[i] != [up[i]["Email"] or "", up[i]["Title"] or "", up[i]["LastName"]]]
print("agree" if not diff else f"differ: {sorted(diff)[:5]}")
PY
)
check "database and upstream agree field by field on contacts (email, title, last name)" '^agree$' "$agree"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
