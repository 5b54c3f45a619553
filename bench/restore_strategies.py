"""Restore strategies: downtime and total time of the runbook's psql restore vs db_rollback's
pg_restore --jobs into a scratch database and swap, against a bare pg_restore.

Run: make bench ARGS=restore, or .venv/bin/python bench/restore_strategies.py [--size-mb 1024,5120]
[--jobs 2] [--repeat 1]. Starts its own PostgreSQL cluster; builds a database of about --size-mb
(8 tables with primary keys and an index each), dumps it in plain SQL and in custom format, then
measures, each on a fresh target:
- runbook: drop the live database, create it, `psql -f plain.sql` into it; the site is down
  for all of it (downtime = total);
- db_rollback: create a scratch database, `pg_restore --exit-on-error --jobs N` from the file,
  check the tables, then the swap (terminate sessions, both renames in one DO block); the site is
  down only for the swap;
- bare: `pg_restore --jobs N` into an empty database, nothing else (the floor).
Prints the times, the downtime of the swap (goal: under 1 s) and db_rollback's total against the
bare restore (goal: within 1.2x).
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))

import psycopg2  # noqa: E402  pylint: disable=wrong-import-position

from pg_cluster import pg_cluster  # noqa: E402  pylint: disable=wrong-import-position
from results import write_results  # noqa: E402  pylint: disable=wrong-import-position

TABLES = 8
ROW_BYTES = 355  # payload 200 characters, tuple header, primary key and created_on index (PostgreSQL 15)
SWAP = """
DO $rollback$
BEGIN
  PERFORM pg_terminate_backend(pid) FROM pg_stat_activity
    WHERE datname IN ('app', 'app_rollback') AND pid <> pg_backend_pid();
  ALTER DATABASE app RENAME TO app_pre_rollback;
  ALTER DATABASE app_rollback RENAME TO app;
END
$rollback$
"""


def admin(server: dict):
    conn = psycopg2.connect(host=server["host"], port=server["port"], user="postgres", dbname="postgres")
    conn.autocommit = True
    return conn


def sql(server: dict, *statements: str) -> None:
    conn = admin(server)
    with conn.cursor() as cur:
        for statement in statements:
            cur.execute(statement)
    conn.close()


def tool(server: dict, name: str, *args: str) -> None:
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    subprocess.run(prefix + [os.path.join(server["bin"], name), "-h", server["host"], "-p", str(server["port"]),
                             "-U", "postgres", *args], check=True, stdout=subprocess.DEVNULL)


def build_source(server: dict, size_mb: int, workdir: str) -> tuple[str, str, int]:
    rows = size_mb * 1024 * 1024 // ROW_BYTES // TABLES
    sql(server, "DROP DATABASE IF EXISTS source", "CREATE DATABASE source")
    conn = psycopg2.connect(host=server["host"], port=server["port"], user="postgres", dbname="source")
    conn.autocommit = True
    with conn.cursor() as cur:
        for n in range(TABLES):
            cur.execute("CREATE TABLE t%d (id bigserial PRIMARY KEY, payload text NOT NULL, "
                        "created_on timestamptz NOT NULL)" % n)
            cur.execute("INSERT INTO t%d (payload, created_on) SELECT repeat(md5(g::text), 6) || left(md5(g::text), 8), "
                        "now() - g * interval '1 second' FROM generate_series(1, %%s) g" % n, (rows,))
            cur.execute("CREATE INDEX ON t%d (created_on)" % n)
        cur.execute("SELECT pg_database_size('source')")
        actual = cur.fetchone()[0]
    conn.close()
    plain, custom = os.path.join(workdir, "source.sql"), os.path.join(workdir, "source.dump")
    tool(server, "pg_dump", "-f", plain, "source")
    tool(server, "pg_dump", "-Fc", "-f", custom, "source")
    return plain, custom, actual


def runbook(server: dict, plain: str) -> tuple[float, float]:
    sql(server, "DROP DATABASE IF EXISTS app", "CREATE DATABASE app")  # the live database, as it is now
    started = time.perf_counter()
    sql(server, "DROP DATABASE app", "CREATE DATABASE app")
    tool(server, "psql", "--quiet", "--no-psqlrc", "--set", "ON_ERROR_STOP=1", "-f", plain, "-d", "app")
    total = time.perf_counter() - started
    return total, total


def db_rollback(server: dict, custom: str, jobs: int) -> tuple[float, float]:
    sql(server, "DROP DATABASE IF EXISTS app", "DROP DATABASE IF EXISTS app_pre_rollback",
        "DROP DATABASE IF EXISTS app_rollback", "CREATE DATABASE app")
    started = time.perf_counter()
    sql(server, "CREATE DATABASE app_rollback")
    tool(server, "pg_restore", "--exit-on-error", "--jobs=%d" % jobs, "--dbname=app_rollback", custom)
    conn = psycopg2.connect(host=server["host"], port=server["port"], user="postgres", dbname="app_rollback")
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
        if cur.fetchone()[0] != TABLES:
            raise AssertionError("the restored copy lacks tables")
    conn.close()
    # The site is down from here: sessions terminated, both renames in one transaction.
    down = time.perf_counter()
    sql(server, SWAP)
    ended = time.perf_counter()
    return ended - started, ended - down


def bare(server: dict, custom: str, jobs: int) -> tuple[float, float]:
    sql(server, "DROP DATABASE IF EXISTS app_bare", "CREATE DATABASE app_bare")
    started = time.perf_counter()
    tool(server, "pg_restore", "--jobs=%d" % jobs, "--dbname=app_bare", custom)
    total = time.perf_counter() - started
    return total, total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--size-mb", default="1024")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=1)
    options = parser.parse_args()
    lines, sizes = [], []
    for size in (int(s) for s in options.size_mb.split(",")):
        with pg_cluster(("fsync=off", "max_wal_size=4GB", "maintenance_work_mem=256MB")) as server, \
                tempfile.TemporaryDirectory(dir=os.environ.get("RB_BENCH_TMP")) as workdir:
            if os.geteuid() == 0:  # the client tools run as postgres (tests/pg_cluster.py)
                subprocess.run(["chown", "postgres", workdir], check=True)
            plain, custom, actual = build_source(server, size, workdir)
            results = {"runbook": [], "db_rollback": [], "bare": []}
            for _attempt in range(options.repeat):
                results["runbook"].append(runbook(server, plain))
                results["db_rollback"].append(db_rollback(server, custom, options.jobs))
                results["bare"].append(bare(server, custom, options.jobs))
            med = {way: (statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs))
                   for way, runs in results.items()}
            lines.append("| %.2f GB | %.1f | %.1f | %.1f | %.3f | **%.2fx** | **%.0fx** |" % (
                actual / 1024.0 ** 3, med["runbook"][0], med["bare"][0], med["db_rollback"][0], med["db_rollback"][1],
                med["db_rollback"][0] / med["bare"][0], med["runbook"][1] / med["db_rollback"][1]))
            sizes.append({
                "size_mb_asked": size, "database_gb": actual / 1024.0 ** 3,
                "ratios": {"total_db_rollback_vs_bare": med["db_rollback"][0] / med["bare"][0],
                           "downtime_runbook_vs_db_rollback": med["runbook"][1] / med["db_rollback"][1]},
                "medians": {way: {"total": total, "downtime": down} for way, (total, down) in med.items()},
                "samples": {way: [{"total": r[0], "downtime": r[1]} for r in runs] for way, runs in results.items()}})
    print("Restore, %d jobs, median of %d (times in s):\n" % (options.jobs, options.repeat))
    print("| database | runbook psql (total = downtime) | bare pg_restore | db_rollback total | db_rollback downtime "
          "(swap) | db_rollback / bare (goal <= 1.2x) | downtime runbook / db_rollback |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    print("\n".join(lines))
    write_results("restore_strategies", {"jobs": options.jobs, "repeat": options.repeat,
                                         "goals": {"total_db_rollback_vs_bare": 1.2}, "sizes": sizes})
    return 0


if __name__ == "__main__":
    sys.exit(main())
