"""Data-loss counting: data_loss_report vs one `manage.py shell` ORM count per model, as a ratio.

Run: make bench ARGS=data-loss, or .venv/bin/python bench/data_loss_vs_orm.py [--tables 10]
[--rows 1000000] [--repeat 3]. Needs Django (bench/requirements.txt, installed by make bench).
Starts its own PostgreSQL cluster; fills --tables tables of --rows rows each, shaped like the
application's TimestampedModel (an index on created_on, ids in creation order), the newest 1 %
created after the deployment; then, --repeat times, counts those rows
- the runbook's way: for each model, `manage.py shell -c "print(Model.objects.filter(
  created_on__gte=deployed_at).count())"` (one process per model);
- the collection's way: the data_loss_report module run as Ansible runs it (one process, one
  read-only snapshot over every table).
Both must find the same counts. Also measures the two floors: the queries alone on an open
connection, and a Python process that only imports what a module imports. Prints the medians and
the ratio (goal: >= 20x).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "tests"), os.path.dirname(os.path.abspath(__file__))]

import psycopg2  # noqa: E402  pylint: disable=wrong-import-position

from django_project import (  # noqa: E402
    DEPLOYED_AT, fill_timestamped, model_name, module_start, python, run_measured, run_module, write_project)
from pg_cluster import pg_cluster  # noqa: E402  pylint: disable=wrong-import-position
from results import write_results  # noqa: E402  pylint: disable=wrong-import-position


def fill(server: dict, tables: list[str], rows: int) -> None:
    """Tables shaped like the application's (fill_timestamped): the newest 1 % after the deployment."""
    conn = psycopg2.connect(host=server["host"], port=server["port"], user="postgres", dbname="postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("DROP DATABASE IF EXISTS bench")
        cur.execute("CREATE DATABASE bench")
    conn.close()
    conn = psycopg2.connect(host=server["host"], port=server["port"], user="postgres", dbname="bench")
    conn.autocommit = True
    with conn.cursor() as cur:
        for table in tables:
            fill_timestamped(cur, table, rows - rows // 100, rows, "md5(g::text)")
    conn.close()


def sql_alone(server: dict, tables: list[str]) -> float:
    """The counting queries alone, on an open connection: what neither way can go below."""
    conn = psycopg2.connect(host=server["host"], port=server["port"], user="postgres", dbname="bench")
    try:
        with conn.cursor() as cur:
            started = time.monotonic()
            for table in tables:
                cur.execute("SELECT count(*) FROM %s WHERE created_on >= %%s" % table, (DEPLOYED_AT,))
                cur.fetchone()
            return time.monotonic() - started
    finally:
        conn.close()


def runbook_way(manage: str, tables: list[str]) -> tuple[float, dict]:
    total, counts = 0.0, {}
    for table in tables:
        code = ("from benchapp.models import {0}; from django.utils.dateparse import parse_datetime; "
                "print({0}.objects.filter(created_on__gte=parse_datetime('{1}')).count())"
                .format(model_name(table), DEPLOYED_AT))
        elapsed, _rss, out = run_measured([python(), manage, "shell", "-c", code], cwd=os.path.dirname(manage))
        total += elapsed
        counts[table] = int(out.strip().splitlines()[-1])
    return total, counts


def module_way(server: dict, tables: list[str], workdir: str) -> tuple[float, dict]:
    elapsed, _rss, result = run_module("data_loss_report", {
        "db": "bench", "login_unix_socket": server["host"], "port": server["port"], "since": DEPLOYED_AT,
        "discover": False, "tables": [{"table": t, "timestamp_column": "created_on"} for t in tables]}, workdir)
    return elapsed, {t["table"]: t["rows"] for t in result["tables"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--tables", type=int, default=10)
    parser.add_argument("--rows", type=int, default=1000000)
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    tables = ["bench_t%d" % n for n in range(options.tables)]
    with pg_cluster() as server, tempfile.TemporaryDirectory() as workdir:
        fill(server, tables, options.rows)
        manage = write_project(workdir, server, "bench", tables)
        orm, module, floor_sql, floor_start = [], [], [], []
        for _attempt in range(options.repeat):
            elapsed, orm_counts = runbook_way(manage, tables)
            orm.append(elapsed)
            elapsed, module_counts = module_way(server, tables, workdir)
            module.append(elapsed)
            floor_sql.append(sql_alone(server, tables))
            floor_start.append(module_start())
            if orm_counts != module_counts:
                raise AssertionError("the two ways disagree: %s vs %s" % (orm_counts, module_counts))
    orm_median, module_median = statistics.median(orm), statistics.median(module)
    print("Data-loss counting, %d tables x %d rows (%d rows after the deployment per table), median of %d:\n"
          % (options.tables, options.rows, orm_counts[tables[0]], options.repeat))
    print("| way | time (s) |")
    print("|---|---:|")
    print("| runbook: one `manage.py shell` ORM count per model | %.2f |" % orm_median)
    print("| `data_loss_report` (one process, one snapshot) | %.2f |" % module_median)
    print("| (the %d counting queries alone, on an open connection) | %.3f |"
          % (len(tables), statistics.median(floor_sql)))
    print("| (a Python process importing `ansible.module_utils.basic` and psycopg2, nothing else) | %.2f |"
          % statistics.median(floor_start))
    print("\nratio runbook / data_loss_report: **%.1fx** (goal >= 20x); runbook / the module's start alone: %.1fx"
          % (orm_median / module_median, orm_median / statistics.median(floor_start)))
    write_results("data_loss_vs_orm", {
        "tables": options.tables, "rows": options.rows, "rows_after_deployment": orm_counts[tables[0]],
        "repeat": options.repeat,
        "ratios": {"runbook_vs_module": orm_median / module_median,
                   "runbook_vs_module_start": orm_median / statistics.median(floor_start)},
        "goals": {"runbook_vs_module": 20.0},
        "medians": {"runbook_orm": orm_median, "module": module_median, "queries_alone": statistics.median(floor_sql),
                    "module_start": statistics.median(floor_start)},
        "samples": {"runbook_orm": orm, "module": module, "queries_alone": floor_sql, "module_start": floor_start}})
    return 0


if __name__ == "__main__":
    sys.exit(main())
