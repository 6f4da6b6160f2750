# Sourced by tests/compat/*/run.sh and bench/proxy/run.sh: starts the real Sequin host on a throwaway embedded
# Postgres with the demo turned on — a sandbox Salesforce org (5 accounts, 25 contacts, 10 opportunities, 50 leads,
# no live activity) synced into the schema `salesforce` of the organization's hosted database, and the proxy
# credentials the control plane provisioned for it. Every write the suites make through the proxy goes to the
# sandbox over HTTP through the Salesforce connector, exactly as in production.
#
# Exports, once the sync is live:
#   PGHOST PGPORT PGUSER PGPASSWORD PGDATABASE  the proxy, with the sync's provisioned proxy credential
#   BACKEND_ROLE                                the Postgres role the proxy's backend connections use
#   DIRECT_PORT DIRECT_USER DIRECT_PASSWORD     Postgres itself, as its superuser (for checking the database)
#   READER_USER READER_PASSWORD                 the sync's direct read-only credential
#   BENCH_USER BENCH_PASSWORD                   a proxy credential for the database `bench` (role bench_owner,
#                                               owner of that database; pgbench -i needs CREATE)
#   UPSTREAM_URL    GET $UPSTREAM_URL/upstream/{Object} → {Id: {Field: value}}, read from the sandbox's REST API
#   SANDBOX_URL SANDBOX_ADMIN_KEY HARNESS_PID HARNESS_LOG
# Stops everything on exit (harness_stop). Options (environment): HARNESS_MAX_CONNECTIONS (proxy and Postgres
# connection limits, default 300); HARNESS_OWN_SESSION=1 starts the host in its own session (setsid), as a service
# runs, so that with the kernel's autogroup scheduling it does not share a CPU group with the caller (the benchmark's
# load generator, bench/proxy/run.sh).
if [[ -n "${HARNESS_OWN_SESSION:-}" && $- == *m* ]]; then
  # With job control on, the background job leads its own process group, so setsid would fork and $! would be a
  # process that exits at once, leaving the host unstoppable from here.
  echo "harness: HARNESS_OWN_SESSION needs job control off (set +m)" >&2; return 1 2>/dev/null || exit 1
fi
harness_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
harness_cfg="${CONFIGURATION:-Release}"
harness_bin="$harness_root/src/Sequin.Host/bin/$harness_cfg/net10.0"
# Build when the host is missing, older than any source file (a stale build would test old code), or asked to.
harness_stamp="$harness_bin/.harness-source-stamp"
if [[ ! -f "$harness_bin/Sequin.Host.dll" || ! -f "$harness_stamp" || -n "${HARNESS_REBUILD:-}" \
      || -n "$(find "$harness_root/src" \( -name '*.cs' -o -name '*.csproj' -o -name '*.sql' \) -newer "$harness_stamp" -print -quit)" ]]; then
  harness_started=$(mktemp)   # its time is the build's start: sources edited during the build count as newer
  dotnet build "$harness_root/src/Sequin.Host/Sequin.Host.csproj" -c "$harness_cfg" --nologo -v quiet -clp:ErrorsOnly >&2 \
    && mv "$harness_started" "$harness_stamp"
fi
harness_work="$(mktemp -d /tmp/sequin-harness.XXXXXX)"
chmod 755 "$harness_work"   # Postgres runs as the postgres OS user under root: it must reach the folder
HARNESS_LOG="$harness_work/host.log"
harness_free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
harness_http_port=$(harness_free_port)
harness_proxy_port=$(harness_free_port)
harness_pg_port=$(harness_free_port)
harness_max=${HARNESS_MAX_CONNECTIONS:-300}
SANDBOX_ADMIN_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
BENCH_USER=bench
BENCH_PASSWORD=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
harness_upstream_pid=""

# The deployment settings docs/proxy.md recommends (deploy/run.sh): socket continuations inline on the epoll threads,
# one epoll thread per two cores, thread-pool workers that block instead of spinning.
DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS="${DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS:-1}" \
DOTNET_SYSTEM_NET_SOCKETS_THREAD_COUNT="${DOTNET_SYSTEM_NET_SOCKETS_THREAD_COUNT:-$(( $(nproc) > 3 ? $(nproc) / 2 : 1 ))}" \
DOTNET_ThreadPool_UnfairSemaphoreSpinLimit="${DOTNET_ThreadPool_UnfairSemaphoreSpinLimit:-0}" \
SEQUIN__DEMO__ENABLED=true SEQUIN__DEMO__ACCOUNTS=5 SEQUIN__DEMO__CHANGESPERSECOND=0 \
SEQUIN__DEMO__PASSWORDFILE="$harness_work/demo-password" \
SEQUIN__HTTP__URLS="http://127.0.0.1:$harness_http_port" \
SEQUIN__PROXY__PORT="$harness_proxy_port" SEQUIN__PROXY__MAXCONNECTIONS="$harness_max" \
SEQUIN__PROXY__CREDENTIALS__0__USERNAME="$BENCH_USER" SEQUIN__PROXY__CREDENTIALS__0__PASSWORD="$BENCH_PASSWORD" \
SEQUIN__PROXY__CREDENTIALS__0__DATABASE=bench SEQUIN__PROXY__CREDENTIALS__0__BACKENDROLE=bench_owner \
SEQUIN__PROXY__CREDENTIALS__0__BACKENDPASSWORD="$BENCH_PASSWORD" \
SEQUIN__PROXY__BACKEND__HOST=127.0.0.1 SEQUIN__PROXY__BACKEND__PORT="$harness_pg_port" \
SEQUIN__PLATFORM__EMBEDDED__PORT="$harness_pg_port" \
SEQUIN__PLATFORM__EMBEDDED__DATADIRECTORY="$harness_work/pg" \
SEQUIN__PLATFORM__EMBEDDED__MAXCONNECTIONS=$((harness_max + 100)) \
SEQUIN__PLATFORM__EMBEDDED__SERVERSETTINGS__fsync=off \
SEQUIN__PLATFORM__EMBEDDED__SERVERSETTINGS__synchronous_commit=off \
SEQUIN__PLATFORM__EMBEDDED__SERVERSETTINGS__full_page_writes=off \
SEQUIN__SECRETS__MASTERKEYFILE="$harness_work/master.key" \
SEQUIN__SANDBOX__SALESFORCE__ADMINKEY="$SANDBOX_ADMIN_KEY" \
  ${HARNESS_OWN_SESSION:+setsid} dotnet "$harness_bin/Sequin.Host.dll" --contentRoot "$harness_bin" >"$HARNESS_LOG" 2>&1 &
HARNESS_PID=$!   # setsid execs in place here: a background job of a script without job control leads no process group
harness_stop() {
  [[ -n "$harness_upstream_pid" ]] && kill -TERM "$harness_upstream_pid" 2>/dev/null
  if [[ -n "${HARNESS_PID:-}" ]]; then kill -TERM "$HARNESS_PID" 2>/dev/null; wait "$HARNESS_PID" 2>/dev/null; fi
  HARNESS_PID=""; harness_upstream_pid=""
  [[ -n "${HARNESS_KEEP:-}" ]] || rm -rf "$harness_work"
  return 0
}
trap harness_stop EXIT
harness_fail() {
  { grep -E ' (ERR|FTL) |Exception: ' "$HARNESS_LOG" | head -20; echo ...; tail -30 "$HARNESS_LOG"; } | sed 's/^/# host: /' >&2
  echo "harness: $1" >&2; harness_stop; exit 1
}

for _ in $(seq 1 240); do
  grep -q "Press Ctrl+C" "$HARNESS_LOG" && break
  kill -0 "$HARNESS_PID" 2>/dev/null || harness_fail "the host exited during start-up"
  sleep 0.5
done
grep -q "Press Ctrl+C" "$HARNESS_LOG" || harness_fail "the host did not start in 120 s"
grep -q "Proxy URL *postgres" "$HARNESS_LOG" && grep -q "Direct DB URL *postgres" "$HARNESS_LOG" \
  || harness_fail "the banner has no demo proxy and direct URLs"

# Proxy and direct credentials from the banner (the connection instructions the control plane provisioned).
harness_url() { grep "$1" "$HARNESS_LOG" | head -1 | grep -oE 'postgres(ql)?://[^ ]+'; }
harness_parse() { # url → shell assignments with the given prefix
  python3 - "$1" "$2" <<'PY'
import shlex, sys, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1]); p = sys.argv[2]
for k, v in (("HOST", u.hostname), ("PORT", u.port), ("USER", urllib.parse.unquote(u.username)),
             ("PASSWORD", urllib.parse.unquote(u.password)), ("DATABASE", u.path.lstrip("/"))):
    print(f"{p}{k}={shlex.quote(str(v))}")
PY
}
eval "$(harness_parse "$(harness_url 'Proxy URL')" PG)"
eval "$(harness_parse "$(harness_url 'Direct DB URL')" READER_)"
PGSSLMODE=disable
DIRECT_PORT=$READER_PORT
DIRECT_USER=postgres
DIRECT_PASSWORD=$(cat "$harness_work/pg/superuser.password")

# The proxy role of the demo sync, and the database pgbench gets through the `bench` credential.
BACKEND_ROLE=$(PGPASSWORD=$PGPASSWORD psql -X -At -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" -d "$PGDATABASE" -c 'select current_user' 2>&1) \
  || harness_fail "cannot connect through the proxy: $BACKEND_ROLE"
PGPASSWORD=$DIRECT_PASSWORD psql -X -q -h 127.0.0.1 -p "$DIRECT_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 \
  -c "create role bench_owner login password '$BENCH_PASSWORD'" -c "create database bench owner bench_owner" >/dev/null \
  || harness_fail "cannot create the bench database"

# Wait until every demo table is live (backfilled).
harness_live() {
  [[ "$(PGPASSWORD=$PGPASSWORD psql -X -At -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" -d "$PGDATABASE" \
        -c "select count(*) filter (where state = 'live') = count(*) and count(*) > 0 from salesforce._sync" 2>/dev/null)" == t ]]
}
for _ in $(seq 1 240); do harness_live && break; sleep 0.5; done
harness_live || harness_fail "the demo sync did not reach live in 120 s"

SANDBOX_URL="http://127.0.0.1:$harness_http_port/sandbox/salesforce"
python3 "$(dirname "${BASH_SOURCE[0]}")/upstream.py" "$SANDBOX_URL" "$SANDBOX_ADMIN_KEY" demo "$harness_work/upstream.port" \
  2>"$harness_work/upstream.log" &
harness_upstream_pid=$!
for _ in $(seq 1 40); do [[ -s "$harness_work/upstream.port" ]] && break; sleep 0.25; done
[[ -s "$harness_work/upstream.port" ]] || harness_fail "the upstream view did not start: $(cat "$harness_work/upstream.log")"
UPSTREAM_URL="http://127.0.0.1:$(cat "$harness_work/upstream.port")"

export PGHOST PGPORT PGUSER PGPASSWORD PGDATABASE PGSSLMODE BACKEND_ROLE DIRECT_PORT DIRECT_USER DIRECT_PASSWORD \
  READER_USER READER_PASSWORD BENCH_USER BENCH_PASSWORD UPSTREAM_URL SANDBOX_URL SANDBOX_ADMIN_KEY HARNESS_PID HARNESS_LOG
echo "harness: Sequin host pid $HARNESS_PID, proxy $PGHOST:$PGPORT ($PGUSER → $BACKEND_ROLE@$PGDATABASE), postgres 127.0.0.1:$DIRECT_PORT, upstream $UPSTREAM_URL" >&2
