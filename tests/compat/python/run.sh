#!/usr/bin/env bash
# psycopg2 and psycopg 3 (Debian python3-psycopg2, python3-psycopg) through the Sequin proxy.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../_harness/start.sh"
# The Debian packages live in the system interpreter, not in a pyenv one that may shadow it on PATH.
/usr/bin/python3 "$here/compat.py"
