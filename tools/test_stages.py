"""`make test`: every stage in turn, each timed, and the times printed at the end.

Stages: lint, sanity, units, build (each a make target), then every molecule scenario
(`molecule test -s NAME`). The scenarios run in RB_TEST_JOBS lanes at once (default 2: most of a
scenario's time is spent waiting on containers, so two share this machine's two cores well); each
lane takes the next scenario, longest first (the order of LONGEST, then the rest by name). Their
containers and docker networks are named per scenario, so two never meet.

With one lane a scenario's output streams as it runs; with more, each goes to
.work/logs/molecule-<scenario>.log and a failed one's last lines are printed. The first failure stops
the run at the end of the scenarios running then (nothing new starts). The table of times is
printed whatever happened, and written to .work/test-times.json.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STAGES = ["lint", "sanity", "units", "build"]
# The longest scenarios first, so that the short ones fill the other lane around them.
LONGEST = ["faults", "e2e", "layouts", "releases", "multinode", "db"]
TAIL_LINES = 150


def scenarios() -> list[str]:
    found = sorted(p.name for p in (ROOT / "molecule").iterdir() if (p / "molecule.yml").is_file())
    return [name for name in LONGEST if name in found] + [name for name in found if name not in LONGEST]


def minutes(seconds: float) -> str:
    return "%d min %02d s" % (seconds // 60, seconds % 60)


class Run:
    def __init__(self, jobs: int):
        self.jobs = jobs
        self.times: list[dict] = []
        self.failed: list[str] = []
        self.lock = threading.Lock()

    def record(self, name: str, seconds: float, rc: int | None, lane: int | None = None) -> None:
        with self.lock:
            self.times.append({"stage": name, "seconds": round(seconds, 1), "rc": rc, "lane": lane})
            # rc None: not run (an earlier failure stopped the run before it); any other rc but 0 failed,
            # a negative one (killed by a signal) too.
            if rc is not None and rc != 0:
                self.failed.append(name)

    def stage(self, target: str) -> int:
        start = time.monotonic()
        rc = subprocess.call(["make", "--no-print-directory", target], cwd=ROOT)
        self.record(target, time.monotonic() - start, rc)
        return rc

    def scenario(self, name: str, lane: int) -> None:
        start = time.monotonic()
        cmd = ["molecule", "test", "-s", name]
        if self.jobs == 1:
            rc = subprocess.call(cmd, cwd=ROOT)
        else:
            logs = ROOT / ".work" / "logs"
            logs.mkdir(parents=True, exist_ok=True)
            log = logs / ("molecule-%s.log" % name)
            print("[make test] lane %d: molecule test -s %s (log: %s)" % (lane, name, log.relative_to(ROOT)), flush=True)
            with open(log, "w") as out:
                rc = subprocess.call(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
            if rc != 0:
                lines = log.read_text(errors="replace").splitlines()[-TAIL_LINES:]
                with self.lock:
                    print("\n".join(["[make test] molecule %s FAILED (rc %d); its last %d lines:" % (name, rc, len(lines))]
                                    + lines), flush=True)
        seconds = time.monotonic() - start
        print("[make test] molecule %s %s in %s" % (name, "passed" if rc == 0 else "FAILED", minutes(seconds)),
              flush=True)
        self.record("molecule " + name, seconds, rc, lane)

    def molecule(self) -> None:
        queue = scenarios()

        def lane(number: int) -> None:
            while True:
                with self.lock:
                    if not queue or self.failed:
                        return
                    name = queue.pop(0)
                self.scenario(name, number)

        threads = [threading.Thread(target=lane, args=(number,)) for number in range(1, self.jobs + 1)]
        for thread in threads:
            thread.start()
            # The lanes start apart: both creating containers at once is the busiest moment.
            time.sleep(5)
        for thread in threads:
            thread.join()
        with self.lock:
            skipped = list(queue)
        for name in skipped:
            self.record("molecule " + name, 0, None)

    def report(self, total: float) -> None:
        print("\n[make test] time of each stage (%d lane%s for the scenarios):"
              % (self.jobs, "" if self.jobs == 1 else "s"))
        for entry in self.times:
            status = "ok" if entry["rc"] == 0 else ("not run" if entry["rc"] is None else "FAILED")
            lane = " (lane %d)" % entry["lane"] if entry["lane"] else ""
            print("  %-28s %12s  %s%s" % (entry["stage"], minutes(entry["seconds"]), status, lane))
        print("  %-28s %12s" % ("total", minutes(total)))
        out = ROOT / ".work" / "test-times.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({"finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                                   "jobs": self.jobs, "total_seconds": round(total, 1), "stages": self.times},
                                  indent=1) + "\n")


def main() -> int:
    jobs = int(os.environ.get("RB_TEST_JOBS", "2") or 2)
    if jobs < 1:
        sys.exit("RB_TEST_JOBS must be 1 or more, not %d" % jobs)
    run = Run(jobs)
    start = time.monotonic()
    try:
        for target in STAGES:
            if run.stage(target) != 0:
                break
        else:
            run.molecule()
    finally:
        run.report(time.monotonic() - start)
    if run.failed:
        not_run = [entry["stage"] for entry in run.times if entry["rc"] is None]
        print("make test: FAILED: %s%s" % (", ".join(run.failed),
                                           "; not run after it: %s" % ", ".join(not_run) if not_run else ""))
        return 1
    print("make test: all stages passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
