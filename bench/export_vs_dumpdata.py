"""Export of the rows written since the deployment: recent_data_export vs `manage.py dumpdata --pks`.

Run: make bench ARGS=export, or .venv/bin/python bench/export_vs_dumpdata.py [--rows 10000,100000]
[--repeat 3]. Needs Django (bench/requirements.txt). Starts its own PostgreSQL cluster; for each
size, a table shaped like the application's TimestampedModel (an index on created_on, ids in
creation order) with that many rows created after the deployment (plus as many before it), then,
--repeat times:
- the runbook's way: one `manage.py shell` that selects the primary keys created since the
  deployment with the ORM and calls dumpdata with them (`--pks`; on the command line 100k keys
  would exceed the kernel's argument limit);
- the collection's way: the recent_data_export module run as Ansible runs it (jsonl, one snapshot).
Both must export the same number of rows. Prints median wall time and the child's peak RSS per
way and size, the time ratio (goal: >= 10x) and how memory grows from the smallest to the largest
size (goal: flat).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "tests"), os.path.dirname(os.path.abspath(__file__))]

import psycopg2  # noqa: E402  pylint: disable=wrong-import-position

from django_project import (  # noqa: E402
    DEPLOYED_AT, fill_timestamped, model_name, module_start, python, run_measured, run_module, write_project)
from pg_cluster import pg_cluster  # noqa: E402  pylint: disable=wrong-import-position
from results import write_results  # noqa: E402  pylint: disable=wrong-import-position

TABLE = "bench_podcast"


def fill(server: dict, rows: int) -> None:
    """A table shaped like the application's (fill_timestamped): ``rows`` rows before the
    deployment, then ``rows`` after it."""
    conn = psycopg2.connect(host=server["host"], port=server["port"], user="postgres", dbname="bench")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS %s" % TABLE)
        fill_timestamped(cur, TABLE, rows, 2 * rows, "repeat(md5(g::text), 4)")
    conn.close()


def runbook_way(manage: str, out_dir: str) -> tuple[float, int, int]:
    target = os.path.join(out_dir, "dumpdata.json")
    code = ("from benchapp.models import {0}; from django.utils.dateparse import parse_datetime; "
            "from django.core.management import call_command; "
            "pks = [str(pk) for pk in {0}.objects.filter(created_on__gte=parse_datetime('{1}'))"
            ".values_list('pk', flat=True)]; "
            "call_command('dumpdata', 'benchapp.{0}', primary_keys=','.join(pks), output='{2}')"
            .format(model_name(TABLE), DEPLOYED_AT, target))
    elapsed, rss, _out = run_measured([python(), manage, "shell", "-c", code], cwd=os.path.dirname(manage))
    with open(target, encoding="utf-8") as handle:
        exported = len(json.load(handle))
    return elapsed, rss, exported


def module_way(server: dict, out_dir: str) -> tuple[float, int, int]:
    elapsed, rss, result = run_module("recent_data_export", {
        "db": "bench", "login_unix_socket": server["host"], "port": server["port"], "since": DEPLOYED_AT,
        "discover": False, "dest": os.path.join(out_dir, "export"),
        "tables": [{"table": TABLE, "timestamp_column": "created_on"}]}, out_dir)
    return elapsed, rss, result["total_rows"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--rows", default="10000,100000")
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    sizes = [int(size) for size in options.rows.split(",")]
    results, samples = [], {}
    with pg_cluster() as server, tempfile.TemporaryDirectory() as workdir:
        conn = psycopg2.connect(host=server["host"], port=server["port"], user="postgres", dbname="postgres")
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("CREATE DATABASE bench")
        conn.close()
        manage = write_project(workdir, server, "bench", [TABLE])
        for size in sizes:
            fill(server, size)
            runs = {"runbook": [], "module": []}
            for attempt in range(options.repeat):
                out_dir = os.path.join(workdir, "run%d" % attempt)
                os.makedirs(out_dir)
                runs["runbook"].append(runbook_way(manage, out_dir))
                runs["module"].append(module_way(server, out_dir))
                shutil.rmtree(out_dir)
            for way, measured in runs.items():
                if any(m[2] != size for m in measured):
                    raise AssertionError("%s exported %s rows, expected %d" % (way, [m[2] for m in measured], size))
            samples[size] = {way: [{"seconds": m[0], "peak_rss_kib": m[1]} for m in measured]
                             for way, measured in (("dumpdata", runs["runbook"]), ("recent_data_export", runs["module"]))}
            results.append((size, statistics.median(m[0] for m in runs["runbook"]),
                            max(m[1] for m in runs["runbook"]), statistics.median(m[0] for m in runs["module"]),
                            max(m[1] for m in runs["module"])))
    print("Export of the rows created since the deployment, median of %d:\n" % options.repeat)
    print("| rows | dumpdata --pks (s) | dumpdata peak RSS (MiB) | recent_data_export (s) "
          "| export peak RSS (MiB) | time ratio |")
    print("|---:|---:|---:|---:|---:|---:|")
    for size, dump_s, dump_rss, export_s, export_rss in results:
        row = (size, dump_s, dump_rss / 1024.0, export_s, export_rss / 1024.0, dump_s / export_s)
        print("| %d | %.2f | %.0f | %.2f | %.0f | **%.1fx** |" % row)
    first, last = results[0], results[-1]
    print("\npeak RSS %d rows / %d rows: dumpdata %.2f, recent_data_export %.2f (goal: flat, near 1)"
          % (last[0], first[0], last[2] / first[2], last[4] / first[4]))
    start = statistics.median(module_start() for _attempt in range(options.repeat))
    print("goal: recent_data_export >= 10x faster. A Python process that only imports what a module imports "
          "(ansible.module_utils.basic, psycopg2) takes %.2f s: the module's floor." % start)
    write_results("export_vs_dumpdata", {
        "repeat": options.repeat, "goals": {"time_ratio": 10.0, "export_peak_rss_growth": 1.0},
        "module_start": start,
        "peak_rss_growth": {"dumpdata": last[2] / first[2], "recent_data_export": last[4] / first[4]},
        "sizes": [{"rows": size, "time_ratio": dump_s / export_s,
                   "medians": {"dumpdata": dump_s, "recent_data_export": export_s},
                   "peak_rss_kib": {"dumpdata": dump_rss, "recent_data_export": export_rss},
                   "samples": samples[size]}
                  for size, dump_s, dump_rss, export_s, export_rss in results]})
    return 0


if __name__ == "__main__":
    sys.exit(main())
