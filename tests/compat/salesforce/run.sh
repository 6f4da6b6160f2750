#!/usr/bin/env bash
# jsforce 3.x conformance suite against the Salesforce sandbox. Builds the standalone sandbox
# (CONFIGURATION, default Release) unless SANDBOX_DLL points at a built Sequin.Sandbox.dll, installs
# jsforce from package-lock.json when missing, then runs node's test runner (TAP: "# pass N").
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
configuration="${CONFIGURATION:-Release}"
if [[ -z "${SANDBOX_DLL:-}" ]]; then
  dotnet build "$root/src/Sequin.Sandbox/Sequin.Sandbox.csproj" -c "$configuration" --nologo -v quiet -clp:ErrorsOnly
  export SANDBOX_DLL="$root/src/Sequin.Sandbox/bin/$configuration/net10.0/Sequin.Sandbox.dll"
fi
cd "$here"
if [[ ! -d node_modules/jsforce ]]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
exec node --test --test-concurrency=1 "$@"
