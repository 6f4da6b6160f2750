#!/usr/bin/env bash
# Side-by-side proxy benchmark in one run (issue 5, docs/proxy.md "Benchmarks"):
#  1. pgbench -n -S -c 8 -j 2 -T $DURATION in -M simple/extended/prepared ($ROUNDS times): Postgres directly, PgBouncer (session
#     mode) and the Sequin proxy on both of its paths, against the same throwaway cluster (scale $SCALE): the fast
#     path (database `bench`, no synced tables) and the inspected path (the demo's database, which has synced tables,
#     through the sync's own proxy credential — what users' sessions get);
#  2. single-row INSERT latency (p50/p95) into the synced salesforce.account: directly vs through the proxy, which
#     applies it to the sandbox (in the same host, over loopback HTTP, zero added latency) first;
#  3. proxy RSS with $IDLE idle client connections.
# Writes bench/results/proxy-<UTC time>.md and prints it. Needs pgbench, pgbouncer, psql, python3-psycopg2.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
DURATION="${DURATION:-30}"; SCALE="${SCALE:-10}"; IDLE="${IDLE:-1000}"; INSERT_SECONDS="${INSERT_SECONDS:-10}"
# ROUNDS > 1 repeats the TPS comparison (each run still -T $DURATION) and reports every round and the ratio of the
# summed TPS: on a small shared host one 30-s run of each varies by ±7 %, more than the difference being measured.
ROUNDS="${ROUNDS:-1}"
# Every path runs each mode for $WARMUP s before anything is measured (not reported): the proxy's code is JIT-compiled,
# then re-compiled by tiering with the profile of the running code. Measured cold, its first 15-s run spent 2.5 s of a
# core in the JIT's background thread and ran ≈ 7 % slower than warm (docs/proxy.md "Benchmarks").
WARMUP="${WARMUP:-10}"
export CONFIGURATION="${CONFIGURATION:-Release}"
# The connector's default budget is 10 requests/s per connection (docs/sync.md): at that rate back-to-back INSERTs
# would measure the budget, not the proxy. The write benchmark lifts it; with the default, each INSERT beyond the
# burst of 10 waits up to 100 ms for a token.
export SEQUIN__SYNC__SALESFORCE__REQUESTSPERSECOND="${BENCH_REQUESTS_PER_SECOND:-100000}"
# The two middle processes run as daemons do, each in its own session: PgBouncer with -d (it calls setsid), the Sequin
# host with HARNESS_OWN_SESSION (Postgres's postmaster is in its own already). With the kernel's autogroup scheduling
# (/proc/sys/kernel/sched_autogroup_enabled, on by default) CPU is shared fairly between sessions first; started from
# this script, either middle process would share one group's share with pgbench, its own load generator, which no
# deployment does (docs/proxy.md "Benchmarks" has the measured difference).
HARNESS_OWN_SESSION=1 HARNESS_MAX_CONNECTIONS=$((IDLE + 100)) source "$root/tests/compat/_harness/start.sh"

work="$(mktemp -d)"; chmod 777 "$work"
bouncer_pid=""
cleanup() { set +e; [[ -n "$bouncer_pid" ]] && kill "$bouncer_pid" 2>/dev/null; rm -rf "$work"; harness_stop; }
trap cleanup EXIT

bouncer_port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$work/pgbouncer.ini" <<INI
[databases]
bench = host=127.0.0.1 port=$DIRECT_PORT dbname=bench
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $bouncer_port
unix_socket_dir =
auth_type = scram-sha-256
auth_file = $work/userlist.txt
pool_mode = session
max_client_conn = 2000
default_pool_size = 20
logfile = $work/pgbouncer.log
pidfile = $work/pgbouncer.pid
INI
printf '"%s" "%s"\n' "$DIRECT_USER" "$DIRECT_PASSWORD" >"$work/userlist.txt"
chmod 644 "$work"/*
if [[ $(id -u) -eq 0 ]]; then pgbouncer -q -d -u postgres "$work/pgbouncer.ini"; else pgbouncer -q -d "$work/pgbouncer.ini"; fi
for _ in $(seq 1 50); do [[ -s "$work/pgbouncer.pid" ]] && break; sleep 0.1; done
# PgBouncer writes its pidfile once it listens.
bouncer_pid=$(cat "$work/pgbouncer.pid" 2>/dev/null) || { echo "pgbouncer did not start: $(tail -5 "$work/pgbouncer.log")" >&2; exit 1; }

direct_env=(env PGHOST=127.0.0.1 PGPORT="$DIRECT_PORT" PGUSER="$DIRECT_USER" PGPASSWORD="$DIRECT_PASSWORD" PGDATABASE=bench)
bouncer_env=(env PGHOST=127.0.0.1 PGPORT="$bouncer_port" PGUSER="$DIRECT_USER" PGPASSWORD="$DIRECT_PASSWORD" PGDATABASE=bench)
proxy_env=(env PGHOST=127.0.0.1 PGPORT="$PGPORT" PGUSER="$BENCH_USER" PGPASSWORD="$BENCH_PASSWORD" PGDATABASE=bench)
inspected_env=(env PGHOST=127.0.0.1 PGPORT="$PGPORT" PGUSER="$PGUSER" PGPASSWORD="$PGPASSWORD" PGDATABASE="$PGDATABASE")

# Initialised as bench_owner (the role behind the proxy's `bench` credential) so all three paths read the same tables.
env PGHOST=127.0.0.1 PGPORT="$DIRECT_PORT" PGUSER=bench_owner PGPASSWORD="$BENCH_PASSWORD" PGDATABASE=bench \
  pgbench -i -q -s "$SCALE" >/dev/null 2>&1
# The same tables in the demo's database (synced tables, so its proxy sessions take the inspected path), readable by
# the sync's proxy role.
env PGHOST=127.0.0.1 PGPORT="$DIRECT_PORT" PGUSER="$DIRECT_USER" PGPASSWORD="$DIRECT_PASSWORD" PGDATABASE="$PGDATABASE" \
  pgbench -i -q -s "$SCALE" >/dev/null 2>&1
PGPASSWORD=$DIRECT_PASSWORD psql -X -q -h 127.0.0.1 -p "$DIRECT_PORT" -U "$DIRECT_USER" -d "$PGDATABASE" -v ON_ERROR_STOP=1 \
  -c "grant select on pgbench_accounts, pgbench_branches, pgbench_tellers, pgbench_history to \"$BACKEND_ROLE\"" >/dev/null
[[ "$(PGSSLMODE=disable "${inspected_env[@]}" psql -X -At -c "select to_regnamespace('_sequin') is not null")" == t ]] \
  || { echo "the demo database has no _sequin schema: the inspected path would not be measured" >&2; exit 1; }

tps() { "$@" pgbench -n -S -c 8 -j 2 -T "$DURATION" -M "$mode" 2>&1 | grep -oE 'tps = [0-9.]+' | grep -oE "[0-9]+" | head -1 || echo n/a; }
declare -A result
if (( WARMUP > 0 )); then
  for mode in simple extended prepared; do
    for target in direct_env proxy_env bouncer_env inspected_env; do
      declare -n target_env=$target
      DURATION=$WARMUP tps "${target_env[@]}" >/dev/null
    done
  done
fi
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
for round in $(seq 1 "$ROUNDS"); do
  for mode in simple extended prepared; do
    # PgBouncer runs between the proxy's two paths, so slow drift in the machine's load biases neither ratio one way.
    result[direct,$mode,$round]=$(tps "${direct_env[@]}")
    result[proxy,$mode,$round]=$(tps "${proxy_env[@]}")
    result[pgbouncer,$mode,$round]=$(tps "${bouncer_env[@]}")
    result[inspected,$mode,$round]=$(tps "${inspected_env[@]}")
    for who in direct proxy pgbouncer inspected; do
      result[$who,$mode]=$(( ${result[$who,$mode]:-0} + ${result[$who,$mode,$round]} ))
    done
    echo "round $round pgbench -S -M $mode: direct ${result[direct,$mode,$round]}  proxy ${result[proxy,$mode,$round]}  pgbouncer ${result[pgbouncer,$mode,$round]}  proxy inspected ${result[inspected,$mode,$round]}" >&2
  done
done

# Single-row INSERT into a synced table: directly (as the sync role would, triggers skipped) vs through the proxy.
latency() { # prints "p50 p95" in ms from a pgbench per-transaction log
  local prefix="$work/lat-$1"; shift
  # 2 s first, not logged: the write path's code is JIT-compiled (and re-compiled by tiering) on its first writes.
  (cd "$work" && "$@" pgbench -n -c 1 -j 1 -M prepared -T 2 -f "$here/insert.sql" >/dev/null 2>&1)
  (cd "$work" && "$@" pgbench -n -c 1 -j 1 -M prepared -T "$INSERT_SECONDS" -f "$here/insert.sql" -l --log-prefix="$prefix" >/dev/null 2>&1)
  cat "$prefix".* | awk '{print $3}' | sort -n | awk '{a[NR]=$1} END {printf "%.3f %.3f", a[int(NR*0.5)]/1000, a[int(NR*0.95)]/1000}'
}
direct_insert=$(latency direct env PGHOST=127.0.0.1 PGPORT="$DIRECT_PORT" PGUSER="$DIRECT_USER" PGPASSWORD="$DIRECT_PASSWORD" PGDATABASE="$PGDATABASE" PGOPTIONS="-c sequin.origin=sync")
proxy_insert=$(latency proxy env)
idle=$(/usr/bin/python3 "$here/idle.py" "$IDLE")

mkdir -p "$root/bench/results"
out="$root/bench/results/proxy-$(date -u +%Y%m%dT%H%M%SZ).md"
{
  echo "# Proxy benchmark $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo "Host: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); PostgreSQL $(pg_config --version 2>/dev/null | awk '{print $2}' || true); $(pgbouncer --version | head -1); pgbench scale $SCALE; -T $DURATION s per run, after $WARMUP s of each path in each mode (not measured)."
  echo
  echo "Sequin host runtime settings: $(tr '\0' '\n' <"/proc/$HARNESS_PID/environ" | grep -E '^DOTNET_(SYSTEM_NET_SOCKETS|ThreadPool)' | sort | paste -sd' ')"
  echo
  echo "Scheduling: sched_autogroup_enabled=$(cat /proc/sys/kernel/sched_autogroup_enabled 2>/dev/null || echo n/a); the Sequin host, PgBouncer and Postgres each run in their own session (as daemons), pgbench in the benchmark's."
  echo
  echo "## pgbench -n -S -c 8 -j 2 -T $DURATION (TPS)"
  echo
  echo "Proxy fast path: database \`bench\` (no synced tables). Inspected path: the demo's database (synced tables, \`_sequin\`), same pgbench tables, through the sync's proxy credential. PgBouncer reads \`bench\`."
  echo
  echo "| mode | round | Postgres direct | PgBouncer (session) | proxy, fast path | proxy, inspected path | fast / PgBouncer | inspected / PgBouncer |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|"
  for mode in simple extended prepared; do
    for round in $(seq 1 "$ROUNDS") all; do
      [[ $round == all && $ROUNDS == 1 ]] && continue
      key="$mode,$round"; [[ $round == all ]] && key=$mode
      ratio=$(awk -v a="${result[proxy,$key]}" -v b="${result[pgbouncer,$key]}" 'BEGIN {printf "%.2f", a/b}')
      ratio2=$(awk -v a="${result[inspected,$key]}" -v b="${result[pgbouncer,$key]}" 'BEGIN {printf "%.2f", a/b}')
      label=$round; [[ $round == all ]] && label="**sum of $ROUNDS**"
      echo "| $mode | $label | ${result[direct,$key]} | ${result[pgbouncer,$key]} | ${result[proxy,$key]} | ${result[inspected,$key]} | $ratio | $ratio2 |"
    done
  done
  echo
  echo "Load average (1/5/15 min) before: $load_start; after: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo
  echo "## Single-row INSERT into salesforce.account (pgbench -c 1 -M prepared -T $INSERT_SECONDS, upstream = the sandbox in the same host, budget $SEQUIN__SYNC__SALESFORCE__REQUESTSPERSECOND requests/s)"
  echo
  echo "| path | p50 ms | p95 ms |"
  echo "|---|---:|---:|"
  echo "| direct (sync role, triggers skipped) | ${direct_insert% *} | ${direct_insert#* } |"
  echo "| through the proxy (capture + upstream + id write-back) | ${proxy_insert% *} | ${proxy_insert#* } |"
  echo
  echo "Added at p50: $(awk -v a="${proxy_insert% *}" -v b="${direct_insert% *}" 'BEGIN {printf "%.3f ms", a-b}')"
  echo
  echo "## Idle connections"
  echo
  echo "\`$idle\` (RSS of the Sequin host process that runs the proxy; KiB)"
} >"$out"
cat "$out"
