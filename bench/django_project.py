"""A throw-away Django project over existing tables: the runbook's own way of counting and exporting.

The benchmarks compare the collection's modules with what the runbook does by hand:
``manage.py shell`` ORM queries and ``manage.py dumpdata``. This writes a minimal project whose
unmanaged models map onto the benchmark tables (``id``, ``payload``, ``created_on``), and runs
its ``manage.py`` as a child process, measuring wall time and peak RSS.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time

DEPLOYED_AT = "2026-11-24T09:30:00+00:00"

SETTINGS = """
SECRET_KEY = "bench"
INSTALLED_APPS = ["benchapp"]
USE_TZ = True
DATABASES = {{"default": {{"ENGINE": "django.db.backends.postgresql", "NAME": "{db}", "USER": "postgres",
                          "HOST": "{host}", "PORT": "{port}"}}}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
"""

MODEL = """
class {name}(models.Model):
    payload = models.TextField()
    created_on = models.DateTimeField(db_index=True)

    class Meta:
        managed = False
        db_table = "{table}"
"""


def model_name(table: str) -> str:
    return "".join(part.capitalize() for part in table.split("_"))


def write_project(directory: str, server: dict, db: str, tables: list[str]) -> str:
    """Write the project; return the path of its manage.py."""
    os.makedirs(os.path.join(directory, "benchapp"), exist_ok=True)
    with open(os.path.join(directory, "bench_settings.py"), "w", encoding="utf-8") as handle:
        handle.write(SETTINGS.format(db=db, host=server["host"], port=server["port"]))
    with open(os.path.join(directory, "benchapp", "__init__.py"), "w", encoding="utf-8") as handle:
        handle.write("")
    with open(os.path.join(directory, "benchapp", "models.py"), "w", encoding="utf-8") as handle:
        handle.write("from django.db import models\n")
        for table in tables:
            handle.write(MODEL.format(name=model_name(table), table=table))
    manage = os.path.join(directory, "manage.py")
    with open(manage, "w", encoding="utf-8") as handle:
        handle.write(textwrap.dedent("""\
            import os
            import sys
            os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench_settings")
            from django.core.management import execute_from_command_line
            execute_from_command_line(sys.argv)
            """))
    return manage


def _high_water_kib(pid: int) -> int:
    """VmHWM of a running process: the peak RSS of its own image since exec (0 once gone)."""
    try:
        with open("/proc/%d/status" % pid, encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def run_measured(argv: list[str], cwd: str | None = None, env: dict | None = None) -> tuple[float, int, str]:
    """Run a child; return (wall seconds, its peak RSS in KiB, stdout). Fails on a non-zero exit.

    The peak is the child's VmHWM sampled every 10 ms while it runs: getrusage/wait4's ru_maxrss
    would also count the parent's memory the child had before exec (Linux keeps the larger).
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        child = subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=err)
        peak = 0
        while child.poll() is None:
            peak = max(peak, _high_water_kib(child.pid))
            time.sleep(0.01)
        elapsed = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        if child.returncode != 0:
            raise RuntimeError("%s failed (%s): %s" % (" ".join(argv[:4]), child.returncode,
                                                       err.read().decode("utf-8", "replace")[-2000:]))
        return elapsed, peak, out.read().decode("utf-8", "replace")


def run_module(module: str, args: dict, workdir: str) -> tuple[float, int, dict]:
    """Run a module of this collection as Ansible runs it (one process, args from a JSON file);
    return (wall seconds, peak RSS in KiB, its result). Fails when the module fails."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = os.path.join(workdir, "args.json")
    with open(path, "w", encoding="utf-8") as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": args}, handle)
    env = dict(os.environ, PYTHONPATH=os.path.join(root, ".work", "collections"))
    elapsed, rss, out = run_measured([python(), os.path.join(root, "plugins", "modules", module + ".py"), path],
                                     env=env)
    result = json.loads(out)
    if result.get("failed"):
        raise RuntimeError(result.get("msg"))
    return elapsed, rss, result


def fill_timestamped(cur, table: str, before: int, total: int, payload_sql: str) -> None:
    """Create and fill ``table`` shaped like the application's TimestampedModel: an index on
    ``created_on`` (``db_index=True`` there) and ids in creation order. ``total`` rows, one every
    2 s; the first ``before`` end 1 s before DEPLOYED_AT, the others start 1 s after it.
    ``payload_sql`` is an expression of ``g`` (the row number)."""
    cur.execute("CREATE TABLE %s (id bigserial PRIMARY KEY, payload text NOT NULL, "
                "created_on timestamptz NOT NULL)" % table)
    cur.execute("CREATE INDEX {0}_created_on ON {0} (created_on)".format(table))
    cur.execute("INSERT INTO {0} (payload, created_on) SELECT {1}, "
                "%s::timestamptz + ((g - %s) * 2 - 1) * interval '1 second' "
                "FROM generate_series(1, %s) g".format(table, payload_sql), (DEPLOYED_AT, before, total))
    cur.execute("ANALYZE %s" % table)


def module_start() -> float:
    """Seconds a Python process takes to import what every module of this collection imports
    (Ansible's module runtime and psycopg2) and exit: the floor of any module run."""
    elapsed, _rss, _out = run_measured([python(), "-c", "import ansible.module_utils.basic, psycopg2"])
    return elapsed


def python() -> str:
    return sys.executable
