#!/usr/bin/env bash
# Sets up and runs Sequin on embedded defaults: a local Postgres 15 cluster under .sequin/pg, the host with
# everything it serves, and prints the URLs. Ctrl+C stops everything; a second run reuses the data.
#
#   deploy/run.sh                      # http://127.0.0.1:8080
#   SEQUIN__HTTP__URLS=http://127.0.0.1:9090 deploy/run.sh
#
# Any Sequin setting can be given as an environment variable (SEQUIN__SECTION__KEY); see README.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

say() { printf 'sequin: %s\n' "$*" >&2; }

if ! command -v dotnet >/dev/null 2>&1; then
  say "the .NET SDK 10 is required (https://dot.net); install it, then run deploy/run.sh again"
  exit 1
fi

# Postgres 15 server binaries for the embedded cluster (only when no external platform DB is configured).
if [ -z "${SEQUIN__PLATFORM__CONNECTIONSTRING:-}" ] && ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then
    say "installing postgresql-15 (apt)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >/dev/null
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    say "installing postgresql-15 (sudo apt)"
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >/dev/null
  else
    say "PostgreSQL 15 server binaries are missing. Install them with:"
    say "  sudo apt-get install -y postgresql-15"
    say "or point Sequin at an existing database: SEQUIN__PLATFORM__CONNECTIONSTRING='Host=...;Username=...;Password=...;Database=sequin'"
    exit 1
  fi
fi

# The dashboard (web/) is built when it exists; the host serves web/dist.
if [ -f web/package.json ]; then
  if [ ! -d web/node_modules ] || [ web/package-lock.json -nt web/node_modules/.package-lock.json ]; then
    say "installing dashboard dependencies (npm ci)"
    (cd web && npm ci --no-audit --no-fund --loglevel=error)
  fi
  say "building the dashboard"
  (cd web && npm run build --silent)
fi

say "building Sequin (Release)"
dotnet build src/Sequin.Host/Sequin.Host.csproj -c Release --nologo -v quiet -clp:ErrorsOnly

# Everything the run keeps (Postgres cluster, master key, demo credentials) lives under .sequin/ of the repository.
mkdir -p "$root/.sequin"
export SEQUIN__DEMO__ENABLED="${SEQUIN__DEMO__ENABLED:-true}"
# Socket continuations inline on the epoll threads: about twice the proxy's throughput; one epoll thread per two
# cores and thread-pool workers that block instead of spinning: less CPU per proxied round trip (docs/proxy.md).
export DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS="${DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS:-1}"
export DOTNET_SYSTEM_NET_SOCKETS_THREAD_COUNT="${DOTNET_SYSTEM_NET_SOCKETS_THREAD_COUNT:-$(( $(nproc) > 3 ? $(nproc) / 2 : 1 ))}"
export DOTNET_ThreadPool_UnfairSemaphoreSpinLimit="${DOTNET_ThreadPool_UnfairSemaphoreSpinLimit:-0}"
bin="$root/src/Sequin.Host/bin/Release/net10.0"
exec dotnet "$bin/Sequin.Host.dll" --contentRoot "$bin" "$@"
