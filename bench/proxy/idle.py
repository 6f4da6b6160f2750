"""Opens N idle connections through the proxy and reports the proxy process's RSS before/after (KiB)."""
import os
import sys
import time

import psycopg2


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


n = int(sys.argv[1])
pid = int(os.environ["HARNESS_PID"])
dsn = dict(host=os.environ["PGHOST"], port=int(os.environ["PGPORT"]), user=os.environ["BENCH_USER"],
           password=os.environ["BENCH_PASSWORD"], dbname="bench", sslmode="disable")
warm = psycopg2.connect(**dsn)
warm.cursor().execute("select 1")
time.sleep(1)
before = rss_kib(pid)
connections = []
started = time.time()
for _ in range(n):
    connections.append(psycopg2.connect(**dsn))
opened = time.time() - started
time.sleep(3)
after = rss_kib(pid)
print(f"idle_connections={n} rss_before_kib={before} rss_after_kib={after} "
      f"per_connection_kib={(after - before) / n:.1f} open_seconds={opened:.1f}")
for c in connections:
    c.close()
warm.close()
