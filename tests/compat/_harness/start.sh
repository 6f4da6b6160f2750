# Sourced by tests/compat/*/run.sh and bench/proxy/run.sh: builds (if needed) and starts the harness — a throwaway
# Postgres cluster with synced tables, the proxy and the in-memory upstream — then exports PGHOST/PGPORT/PGUSER/
# PGPASSWORD/PGDATABASE (the proxy), DIRECT_PORT/DIRECT_USER/DIRECT_PASSWORD (Postgres itself), UPSTREAM_URL.
# Stops it on exit. Usage: source start.sh [harness args]
harness_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
harness_cfg="${CONFIGURATION:-Release}"
harness_dll="$harness_dir/bin/$harness_cfg/net10.0/Sequin.Proxy.Harness.dll"
if [[ ! -f "$harness_dll" || -n "${HARNESS_REBUILD:-}" ]]; then
  dotnet build "$harness_dir/Sequin.Proxy.Harness.csproj" -c "$harness_cfg" --nologo -v quiet -clp:ErrorsOnly >&2
fi
harness_env="$(mktemp -u /tmp/sequin-harness-env.XXXXXX)"
harness_log="$(mktemp /tmp/sequin-harness-log.XXXXXX)"
# Socket continuations inline on the epoll threads: the deployment setting docs/proxy.md recommends for the proxy.
DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS="${DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS:-1}" \
  dotnet "$harness_dll" --env-file "$harness_env" "$@" >"$harness_log" 2>&1 &
harness_pid=$!
harness_stop() {
  kill -TERM "$harness_pid" 2>/dev/null || true
  wait "$harness_pid" 2>/dev/null || true
  rm -f "$harness_env"
}
trap harness_stop EXIT
for _ in $(seq 1 240); do
  [[ -s "$harness_env" ]] && break
  if ! kill -0 "$harness_pid" 2>/dev/null; then cat "$harness_log" >&2; echo "harness failed to start" >&2; exit 1; fi
  sleep 0.5
done
[[ -s "$harness_env" ]] || { cat "$harness_log" >&2; echo "harness did not start in time" >&2; exit 1; }
set -a
# shellcheck disable=SC1090
. "$harness_env"
set +a
