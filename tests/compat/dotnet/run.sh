#!/usr/bin/env bash
# Npgsql (extended protocol, prepared statements, SCRAM over TLS; the gs2 flags n/y are covered by tests/Sequin.Proxy.Tests) and EF Core
# (SaveChanges insert/update/delete, a rejected write) through the Sequin proxy of the real host, asserting the
# sandbox's state over its REST API too. Prints "N passed, N failed".
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dotnet build "$here/Sequin.Compat.DotNet.csproj" -c "${CONFIGURATION:-Release}" --nologo -v quiet -clp:ErrorsOnly >&2 \
  || { echo "0 passed, 1 failed"; exit 1; }
source "$here/../_harness/start.sh"
dotnet "$here/bin/${CONFIGURATION:-Release}/net10.0/Sequin.Compat.DotNet.dll"
