#!/usr/bin/env bash
# pgjdbc (Debian libpostgresql-jdbc-java) through the Sequin proxy, run as a single-file Java program.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
jar=/usr/share/java/postgresql.jar
[[ -f "$jar" ]] || { echo "missing $jar: apt-get install libpostgresql-jdbc-java"; echo "0 passed, 1 failed"; exit 1; }
source "$here/../_harness/start.sh"
java -cp "$jar" "$here/Compat.java"
