"""Peak memory of recent_data_export from 10k to 1M rows, as a ratio.

Run: .venv/bin/python bench/export_memory.py [--rows 10000,100000,1000000]
Starts its own PostgreSQL cluster (tests/pg_cluster.py). Prints a markdown table of
peak Python heap (tracemalloc) and wall time per size, and the ratio largest/smallest.
A streaming export keeps the ratio near 1.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import tracemalloc

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, ".work", "collections"), os.path.join(ROOT, "tests")]

import psycopg2  # noqa: E402  pylint: disable=wrong-import-position

from ansible_collections.runbooks.rollback.plugins.module_utils.postgres import connect  # noqa: E402
from ansible_collections.runbooks.rollback.plugins.module_utils.recent_data import normalize_entries  # noqa: E402
from ansible_collections.runbooks.rollback.plugins.module_utils.recent_export import export  # noqa: E402
from ansible_collections.runbooks.rollback.plugins.module_utils.timeutil import parse_timestamp  # noqa: E402
from pg_cluster import pg_cluster  # noqa: E402  pylint: disable=wrong-import-position
from results import write_results  # noqa: E402  pylint: disable=wrong-import-position


def measure(server: dict, n_rows: int) -> tuple[int, float]:
    conn = psycopg2.connect(host=server["host"], port=server["port"], user="postgres", dbname="postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS big; CREATE TABLE big (id serial PRIMARY KEY, payload text, "
                    "created_on timestamptz NOT NULL)")
        cur.execute("INSERT INTO big (payload, created_on) SELECT repeat('x', 100) || g, now() "
                    "FROM generate_series(1, %s) g", (n_rows,))
    conn.close()
    params = {"login_user": "postgres", "login_password": "", "login_host": "", "login_unix_socket": server["host"],
              "port": server["port"], "db": "postgres", "ssl_mode": "prefer", "ca_cert": None, "connect_timeout": 5}
    with tempfile.TemporaryDirectory() as dest:
        conn = connect(params, readonly=True, isolation="repeatable read")
        tracemalloc.start()
        started = time.perf_counter()
        manifest = export(conn, normalize_entries([{"table": "big", "timestamp_column": "created_on"}]),
                          parse_timestamp("2000-01-01T00:00:00Z"), "jsonl", dest)
        elapsed = time.perf_counter() - started
        _cur, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        conn.close()
    assert manifest["total_rows"] == n_rows
    return peak, elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--rows", default="10000,100000,1000000")
    sizes = [int(x) for x in parser.parse_args().rows.split(",")]
    with pg_cluster() as server:
        results = [(n,) + measure(server, n) for n in sizes]
    print("| rows | peak heap (KiB) | time (s) | rows/s |")
    print("|---:|---:|---:|---:|")
    for n, peak, elapsed in results:
        print("| %d | %.0f | %.2f | %.0f |" % (n, peak / 1024.0, elapsed, n / elapsed))
    print("\npeak memory ratio %d rows / %d rows: %.2f" % (sizes[-1], sizes[0], results[-1][1] / results[0][1]))
    write_results("export_memory", {"repeat": 1, "peak_ratio_largest_vs_smallest": results[-1][1] / results[0][1],
                                    "goals": {"peak_ratio_largest_vs_smallest": 1.0},
                                    "sizes": [{"rows": n, "peak_heap_bytes": peak, "seconds": elapsed}
                                              for n, peak, elapsed in results]})
    return 0


if __name__ == "__main__":
    sys.exit(main())
