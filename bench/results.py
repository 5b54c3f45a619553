"""The benchmarks' latest figures as files a program can read: bench/results/<name>.json.

Every benchmark calls ``write_results(name, figures)`` once at its end. The file holds
``benchmark`` (the name), ``date`` (UTC, ISO 8601, when the figures were written), ``commit``
(``git rev-parse HEAD`` of the checkout the benchmark ran from, read when this module is imported,
that is when the benchmark starts, with ``dirty`` true when tracked files had changes then) and
``figures``: what the benchmark printed, as numbers (ratios, the
medians they come from and the raw samples). Written to a temporary file in the same directory
and renamed over the old one, so a reader never sees half a file. An interrupted run leaves the
previous figures in place.
"""
from __future__ import annotations

import datetime
import json
import os
import subprocess
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "bench", "results")


def _git(*args: str) -> str:
    proc = subprocess.run(["git", "-C", ROOT, *args], capture_output=True, text=True, check=False)
    return proc.stdout.strip() if proc.returncode == 0 else ""


# Read at the start: a commit made while a long benchmark runs is not the code it measured.
COMMIT = _git("rev-parse", "HEAD") or None
DIRTY = bool(_git("status", "--porcelain", "--untracked-files=no"))


def write_results(name: str, figures: dict) -> str:
    """Write ``figures`` (JSON-serialisable) to bench/results/<name>.json atomically; return the path."""
    document = {
        "benchmark": name,
        "date": datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat(),
        "commit": COMMIT,
        "dirty": DIRTY,
        "figures": figures,
    }
    os.makedirs(RESULTS, exist_ok=True)
    path = os.path.join(RESULTS, name + ".json")
    handle, tmp = tempfile.mkstemp(prefix="." + name + ".", suffix=".tmp", dir=RESULTS)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(document, out, indent=2, sort_keys=True)
            out.write("\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path
