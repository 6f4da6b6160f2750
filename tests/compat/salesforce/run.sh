#!/usr/bin/env bash
# Builds the standalone sandbox (Release) unless SANDBOX_DLL is given, installs jsforce, runs the suite.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
if [[ -z "${SANDBOX_DLL:-}" ]]; then
  dotnet build "$root/src/Sequin.Sandbox/Sequin.Sandbox.csproj" -c Release --nologo -v quiet
  export SANDBOX_DLL="$root/src/Sequin.Sandbox/bin/Release/net10.0/Sequin.Sandbox.dll"
fi
cd "$here"
if [[ ! -d node_modules/jsforce ]]; then
  npm ci --no-audit --no-fund
fi
exec node --test --test-concurrency=1 "$@"
