"""`make demo`: a demo production host, broken by a bad deployment, rolled back.

Steps (each timed): a fresh container rb-prod (molecule scenario `default`), the stand-in
application deployed at v1.4.0, seeded, backed up and broken by v1.5.0 with rows written
after it (molecule/resources/playbooks/demo_stack.yml), then `playbooks/rollback.yml` run
as an operator would with inventories/demo. At the end: the decision, the data-loss report,
the phase timeline with durations and the path of the incident report, read from the
rollback's state file on the host. Running it again starts from a fresh host.
"""
from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from end_to_end import Downtime  # noqa: E402  pylint: disable=wrong-import-position
HOST = "rb-prod"
DOCKER = os.environ.get("DOCKER", "/usr/bin/docker")
INVENTORY = str(ROOT / "inventories" / "demo")


def step(title: str, argv: list[str], timings: list[tuple[str, float]]) -> None:
    print("\n=== %s\n$ %s" % (title, " ".join(argv)), flush=True)
    started = time.monotonic()
    proc = subprocess.run(argv, cwd=ROOT, check=False)
    timings.append((title, time.monotonic() - started))
    if proc.returncode != 0:
        sys.exit("demo: '%s' failed (exit %d); the output above says why. The host is left up for "
                 "inspection: docker exec -it %s bash" % (title, proc.returncode, HOST))


def on_host(*argv: str) -> str:
    return subprocess.run([DOCKER, "exec", HOST, *argv], check=True, capture_output=True, text=True).stdout


def duration(seconds: float) -> str:
    seconds = int(round(seconds))
    return "%dm %02ds" % divmod(seconds, 60) if seconds >= 60 else "%ds" % seconds


def main() -> int:
    timings: list[tuple[str, float]] = []
    rollback_id = datetime.datetime.now(datetime.timezone.utc).strftime("demo%Y%m%dT%H%M%S")
    step("A fresh demo production host", ["molecule", "destroy", "-s", "default"], timings)
    step("Start it", ["molecule", "create", "-s", "default"], timings)
    step("Deploy v1.4.0, seed, back up, then the bad deployment v1.5.0 and new rows",
         ["ansible-playbook", "-i", INVENTORY, "molecule/resources/playbooks/demo_stack.yml"], timings)
    deployed_at = on_host("cat", "/var/lib/open-discussions/deployed_at").strip()
    # While it runs, this machine asks the site for /healthz through nginx every 0.1 s, as a user would.
    with Downtime(HOST) as down:
        step("Roll back, as an operator would",
             ["ansible-playbook", "-i", INVENTORY, "playbooks/rollback.yml", "-e", "rollback_deployed_at=" + deployed_at,
              "-e", "rollback_scenario=1", "-e", "rollback_id=" + rollback_id], timings)

    record = json.loads(on_host("cat", "/var/lib/runbooks-rollback/%s.json" % rollback_id))
    phases = record["phases"]
    decision = phases["decide"]["details"]
    database = phases["database"]["details"]
    recovered = phases["recover_data"]["details"]
    print("\n" + "=" * 78)
    print("Decision: window %s (%s), scenario %s %s -> %s" % (
        decision["window"], decision["window_action"], decision["scenario"], decision["scenario_name"],
        decision["recommended_action"]))
    print("  %s" % decision["reason"])
    print("\nData-loss report (rows written since the deployment at %s):" % deployed_at)
    for label, rows in sorted(database["loss_counts"].items()):
        if rows:
            print("  %-12s %d" % (label, rows))
    print("  %-12s %d  -> exported, re-imported %d, already present %d, conflicts %d" % (
        "total", database["loss_total"], recovered["total_inserted"], recovered["total_already_present"],
        recovered["total_skipped"]))
    migrations = decision.get("migrations") or {}
    if migrations:
        print("\nBackup's migrations vs v1.4.0: %s (%d rows; to apply: %s)" % (
            "match" if migrations["ok"] else "MISMATCH", migrations["applied_count"],
            ", ".join(migrations["to_apply"]) or "none"))
    celery = phases["start"]["details"].get("celery") or {}
    if celery:
        print("Celery queues before the workers started: %s message(s), %s of tasks v1.4.0 does not know (%s); "
              "%s removed, saved to %s" % (
                  celery["total"], celery["unknown_total"], ", ".join(celery["unknown_tasks"]) or "none",
                  celery["removed"], celery["saved_to"]))
    sessions = phases["decide"]["details"].get("sessions") or {}
    if sessions.get("exists"):
        print("Users on the site at the decision: %s active sessions (%s logged-in users)" % (
            sessions["active"], sessions["users"]))
    notices = phases["decide"]["details"].get("notices") or {}
    if notices:
        print("Start notice written for %d audiences before anything stopped (%s)" % (
            len(notices["files"]), os.path.dirname(notices["files"][0]) if notices["files"] else "-"))
    print("\nTimeline of the rollback (UTC):")
    rows = sorted(phases.items(), key=lambda item: item[1]["started_at"])
    for name, phase in rows:
        start = datetime.datetime.strptime(phase["started_at"], "%Y-%m-%dT%H:%M:%SZ")
        end = datetime.datetime.strptime(phase["ended_at"], "%Y-%m-%dT%H:%M:%SZ")
        took = duration((end - start).total_seconds())
        line = (name, phase["started_at"][11:19], phase["ended_at"][11:19], took, phase["status"])
        print("  %-13s %s -> %s  %7s  %s" % line)
    print("\nThe site was down (maintenance page 503, or no answer) for %.1f s of the rollback's %s "
          "(/healthz asked every 0.1 s, %d times); the rest of the run it served." % (
              down.down, duration(timings[-1][1]), down.probes))
    bench = ROOT / "bench" / "results" / "end_to_end.json"
    if bench.exists():
        results = json.loads(bench.read_text())
        medians = results.get("figures", {}).get("normal", {}).get("medians", {})
        if "script" in medians and "playbook" in medians:
            print("bench/end_to_end.py (%s, side by side on one host): the runbook's bare script down %.1f s, "
                  "this playbook down %.1f s." % (results.get("date", "?")[:16], medians["script"]["down"],
                                                  medians["playbook"]["down"]))
    print("\nIncident report: docker exec %s cat /var/lib/runbooks-rollback/%s-report/incident_report.md"
          " (and incident_report.html; the notices in notices/)" % (HOST, rollback_id))
    print("\nDemo steps:")
    for title, seconds in timings:
        print("  %7s  %s" % (duration(seconds), title))
    print("  %7s  total" % duration(sum(seconds for _title, seconds in timings)))
    print("The site: docker exec %s curl -s localhost/healthz ; 'make demo-destroy' removes the host." % HOST)
    return 0


if __name__ == "__main__":
    sys.exit(main())
