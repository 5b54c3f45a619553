"""End to end: playbooks/rollback.yml vs a bare script of the runbook's commands, same host, and vs the floor.

Run: .venv/bin/python bench/end_to_end.py [--repeat 3] [--watch 10]
[--slow-build 20]. Needs docker and the images (make images). Builds the broken demo stack once
(the stand-in at v1.4.0, seeded, backed up, broken by v1.5.0, rows written after), snapshots the
container as an image, then for each repetition starts three fresh copies of it, one after the
other, and rolls
- one back with the bare commands of the runbook (SCRIPT: one `docker exec bash`, `set -euo
  pipefail`),
- one with the floor (FLOOR_AHEAD then FLOOR_DOWN): everything that can be done while the site
  still serves is done first (the backup restored into a scratch database and migrated, the last
  good release checked out, built, installed and checked in a sibling directory), then only the
  part that needs the site down: maintenance on, stop the programs, export the rows written since
  the deployment, swap the databases (two renames) and the directories (two `mv`), re-import the
  rows, start the programs, maintenance off. Its downtime is the floor any rollback of this stack
  has: the programs' own stop and start and the swaps,
- one with `ansible-playbook playbooks/rollback.yml` (inventories/demo settings; monitoring
  shortened to --watch seconds, as the script's watch).
All three must end with the site serving the channels again. While each runs, this machine asks
the site for /healthz through nginx every 0.1 s: the time it does not answer 200 is the site's
downtime as a user sees it. Prints the medians of the total and of the downtime, the ratios
against the goals (site down playbook / script <= 0.7x, playbook / floor <= 1.5x; total playbook /
script <= 2.5x), the playbook tasks that ran while the site was down (between the task that turns
the maintenance page on and the one that turns it off, in the log's order, timed by
profile_tasks) and the slowest tasks of the playbook run.

--slow-build SECONDS also runs every repetition again with a frontend build that takes SECONDS
longer (the published figures use 20, about what a real webpack build takes): a Node preload file
(SLOW_BUILD_JS) that sleeps once, synchronously, in the process npm starts for the `build` script,
enabled by NODE_OPTIONS in the build's environment - exported for the two bare scripts, added to
`rollback_app_environment` for the playbook - in all three ways alike. The stand-in app's history
is untouched. The two cases are written as "normal" and "slow_build" to bench/results/end_to_end.json
(bench/results.py): ratios, medians, every sample, the floor's steps and the tasks in the
playbook's downtime.

With --mitogen each repetition also rolls a further copy back with the same playbook under
Mitogen's `mitogen_linear` strategy (bench/requirements.txt): one Python interpreter per host for
the whole run instead of a new one per task. It is not how the collection runs (ansible-core 2.19
deprecates strategy plugins outside ansible.builtin); it measures how much of the playbook's time
is Ansible's cost of starting each task's module on the host.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

from results import write_results

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCKER = os.environ.get("DOCKER", shutil.which("docker") or "/usr/bin/docker")
SNAPSHOT = "local/rb-bench-broken:latest"
BUILDER = "rb-prod"
APP = "/srv/open-discussions"

# The runbook's commands, as an engineer would paste them (variables: DEPLOYED, WATCH).
SCRIPT = r"""
set -euo pipefail
OD="runuser -u od -- env HOME=$(getent passwd od | cut -d: -f6)"
PSQL="runuser -u postgres -- psql -v ON_ERROR_STOP=1 -q -d open_discussions"
MANAGE="$OD env REQUESTS_CA_BUNDLE=/etc/ssl/host-ca.crt /srv/open-discussions/.venv/bin/python manage.py"
mkdir -p /backups/rollback/bare && chown postgres /backups/rollback/bare
# 1 stop
mkdir -p /var/www/maintenance && touch /var/www/maintenance/on
supervisorctl stop web celery_beat celery_worker
# 2 database: count and export what the restore loses, dump the current state, restore
$PSQL -Atc "SELECT count(*) FROM auth_user WHERE date_joined >= '$DEPLOYED'"
$PSQL -Atc "SELECT count(*) FROM course_catalog_podcast WHERE created_on >= '$DEPLOYED'"
$PSQL -c "\copy (SELECT * FROM auth_user WHERE date_joined >= '$DEPLOYED') TO '/backups/rollback/bare/users.copy'"
$PSQL -c "\copy (SELECT * FROM course_catalog_podcast WHERE created_on >= '$DEPLOYED') TO '/backups/rollback/bare/podcasts.copy'"
runuser -u postgres -- pg_dump -Fc -f /backups/rollback/bare/current.dump open_discussions
BACKUP=$(ls -1t /backups/postgresql/open_discussions_*.dump | head -1)
runuser -u postgres -- dropdb --force open_discussions
runuser -u postgres -- createdb -O od_app open_discussions
runuser -u postgres -- pg_restore --exit-on-error -d open_discussions "$BACKUP"
# 3 code
cd /srv/open-discussions
$OD git checkout -q -b rollback/bare
$OD git reset -q --hard v1.4.0
(cd frontends/open-discussions && $OD npm ci --no-audit --no-fund && $OD npm run build)
$OD env REQUESTS_CA_BUNDLE=/etc/ssl/host-ca.crt POETRY_VIRTUALENVS_IN_PROJECT=true poetry install --no-interaction --no-root --sync
$MANAGE collectstatic --noinput
$MANAGE check
# 6 recover the data written since the deployment
$PSQL -c "\copy auth_user FROM '/backups/rollback/bare/users.copy'"
$PSQL -c "\copy course_catalog_podcast FROM '/backups/rollback/bare/podcasts.copy'"
$PSQL -c "SELECT setval(pg_get_serial_sequence('auth_user', 'id'), (SELECT max(id) FROM auth_user))"
$PSQL -c "SELECT setval(pg_get_serial_sequence('course_catalog_podcast', 'id'), (SELECT max(id) FROM course_catalog_podcast))"
# 4 start
$MANAGE migrate --noinput
supervisorctl start celery_worker celery_beat web
rm -f /var/www/maintenance/on
for i in $(seq 30); do curl -fs -o /dev/null http://127.0.0.1/healthz && break; sleep 1; done
# 5 verify
for path in /healthz / /c/general/ /api/v0/channels/ /api/v0/podcasts/; do curl -fs -o /dev/null "http://127.0.0.1$path"; done
! grep -h ERROR /var/log/open-discussions/web.log | grep -q "$(date -u +%Y-%m-%d\ %H:%M)"
# 7 search
$MANAGE recreate_index --all --timeout 120
for type in post comment podcast course; do curl -fs -o /dev/null "http://127.0.0.1/api/v0/search/?q=&type=$type"; done
# 8 watch
END=$((SECONDS + WATCH)); while [ $SECONDS -lt $END ]; do curl -fs -o /dev/null http://127.0.0.1/healthz; sleep 2; done
"""


# The floor, first part, while the site still serves (variables: none): everything a rollback of
# this stack can do before the stop. The backup restored into a scratch database and migrated;
# the last good release checked out, built, installed, collected and checked in a sibling
# directory, against the scratch database. The venv is then made to name the final directory
# (a venv is not relocatable: its scripts' shebangs and activate files hold the path).
FLOOR_AHEAD = r"""
set -euo pipefail
OD="runuser -u od -- env HOME=$(getent passwd od | cut -d: -f6) REQUESTS_CA_BUNDLE=/etc/ssl/host-ca.crt"
PG="runuser -u postgres --"
APP=/srv/open-discussions
NEXT=/srv/open-discussions.next
mkdir -p /backups/rollback/floor /var/www/maintenance && chown postgres /backups/rollback/floor
# database: the pre-deployment backup into a scratch database
BACKUP=$(ls -1t /backups/postgresql/open_discussions_*.dump | head -1)
$PG dropdb --if-exists --force open_discussions_rb_floor 2>/dev/null
$PG createdb -O od_app open_discussions_rb_floor
$PG pg_restore --exit-on-error -d open_discussions_rb_floor "$BACKUP"
# code: the last good release in a sibling directory
rm -rf "$NEXT"
cp -a "$APP" "$NEXT"
cd "$NEXT"
$OD git checkout -q -b rollback/floor
$OD git reset -q --hard v1.4.0
(cd frontends/open-discussions && $OD npm ci --no-audit --no-fund && $OD npm run build)
$OD env POETRY_VIRTUALENVS_IN_PROJECT=true poetry install --no-interaction --no-root --sync
MANAGE="$OD env OD_STATIC_ROOT=$NEXT/staticfiles OD_DB_NAME=open_discussions_rb_floor $NEXT/.venv/bin/python manage.py"
$MANAGE collectstatic --noinput
$MANAGE migrate --noinput
$MANAGE check
grep -rlF "$NEXT/.venv" .venv/bin .venv/pyvenv.cfg | xargs -r $OD sed -i "s#$NEXT/.venv#$APP/.venv#g"
! grep -rlF "$NEXT" .venv/bin .venv/pyvenv.cfg
"""

# The floor, second part: only what needs the site down (variable: DEPLOYED). Prints a mark
# after each step. The rows written since the deployment are exported after the stop (as the
# playbook and SCRIPT do: exported earlier, rows written in between would be lost).
FLOOR_DOWN = r"""
set -euo pipefail
mark() { echo "floor-step $1 $(date +%s.%N)"; }
PSQL="runuser -u postgres -- psql -v ON_ERROR_STOP=1 -q"
APP=/srv/open-discussions
mark begin
touch /var/www/maintenance/on
mark maintenance_on
supervisorctl stop web celery_beat celery_worker
mark stop
$PSQL -d open_discussions -c "\copy (SELECT * FROM auth_user WHERE date_joined >= '$DEPLOYED') TO '/backups/rollback/floor/users.copy'"
$PSQL -d open_discussions -c "\copy (SELECT * FROM course_catalog_podcast WHERE created_on >= '$DEPLOYED') TO '/backups/rollback/floor/podcasts.copy'"
mark export
$PSQL -At -d postgres >/dev/null <<'SQL'
SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity
 WHERE datname IN ('open_discussions', 'open_discussions_rb_floor') AND pid <> pg_backend_pid();
BEGIN;
ALTER DATABASE open_discussions RENAME TO open_discussions_rb_old;
ALTER DATABASE open_discussions_rb_floor RENAME TO open_discussions;
COMMIT;
SQL
mark database_swap
mv "$APP" "$APP.old"
mark move_live_aside
mv "$APP.next" "$APP"
mark move_next_in
$PSQL -d open_discussions -c "\copy auth_user FROM '/backups/rollback/floor/users.copy'"
$PSQL -d open_discussions -c "\copy course_catalog_podcast FROM '/backups/rollback/floor/podcasts.copy'"
$PSQL -At -d open_discussions >/dev/null <<'SQL'
SELECT setval(pg_get_serial_sequence('auth_user', 'id'), (SELECT max(id) FROM auth_user));
SELECT setval(pg_get_serial_sequence('course_catalog_podcast', 'id'), (SELECT max(id) FROM course_catalog_podcast));
SQL
mark reimport
# started together, as the playbook's supervisor_programs (together) does: one wait, not three
pids=(); for program in celery_worker celery_beat web; do supervisorctl start "$program" & pids+=($!); done
for pid in "${pids[@]}"; do wait "$pid"; done
mark start
rm -f /var/www/maintenance/on
mark maintenance_off
for i in $(seq 300); do curl -fs -o /dev/null http://127.0.0.1/healthz && break; sleep 0.1; done
curl -fs -o /dev/null http://127.0.0.1/healthz
mark healthz
"""

# --slow-build: a preload for every node process of the build's environment (NODE_OPTIONS) that
# sleeps once, in the process npm starts for the `build` script (npm sets npm_lifecycle_event
# there; npm itself, `npm ci` and the processes the build starts do not sleep).
SLOW_BUILD_JS = "/usr/local/lib/rb-slow-build.js"
SLOW_BUILD_SOURCE = """// bench/end_to_end.py --slow-build: the frontend build takes %(seconds)d s longer, as a real webpack build would.
'use strict';
if (process.env.npm_lifecycle_event === 'build' && !process.env.RB_SLOW_BUILD_DONE) {
  process.env.RB_SLOW_BUILD_DONE = '1';
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, %(milliseconds)d);
}
"""
SLOW_BUILD_OPTIONS = "--require=" + SLOW_BUILD_JS

GOALS = {"down_playbook_vs_script": 0.7, "down_playbook_vs_floor": 1.5, "total_playbook_vs_script": 2.5}


def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([DOCKER, *args], check=check, capture_output=True, text=True)


def execute(argv: list[str], **kwargs) -> tuple[float, str]:
    """Run ``argv`` from the checkout; return its wall time and its output, raise if it fails."""
    started = time.perf_counter()
    proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False, **kwargs)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError("%s failed:\n%s" % (" ".join(argv[:4]), (proc.stdout + proc.stderr)[-3000:]))
    return elapsed, proc.stdout


def run(argv: list[str], **kwargs) -> float:
    return execute(argv, **kwargs)[0]


def build_snapshot() -> None:
    """The broken demo stack, stopped cleanly and committed as an image."""
    run(["molecule", "destroy", "-s", "default"])
    run(["molecule", "create", "-s", "default"])
    run(["ansible-playbook", "-i", os.path.join(ROOT, "inventories", "demo"),
         os.path.join(ROOT, "molecule", "resources", "playbooks", "demo_stack.yml")])
    docker("exec", BUILDER, "supervisorctl", "stop", "all")
    docker("commit", BUILDER, SNAPSHOT)
    run(["molecule", "destroy", "-s", "default"])


SRV_VOLUME = False  # --srv-volume


def on_copy(name: str, slow_build: int, work):
    """Start a copy of the broken stack named ``name``, return ``work(name)`` and remove the copy
    and its volumes (also when the work fails, so that the next run can start a copy of that name)."""
    start_copy(name, slow_build, SRV_VOLUME)
    try:
        return work(name)
    finally:
        docker("rm", "-f", "-v", name, check=False)


def start_copy(name: str, slow_build: int = 0, srv_volume: bool = False) -> None:
    """Start a copy of the snapshot. With ``srv_volume``, /srv is a new anonymous volume (docker
    fills it from the image at the start): a directory there is renamed in place, as on a real
    host, where on the container's overlayfs a directory of the image is copied by `mv` (EXDEV)."""
    docker("rm", "-f", "-v", name, check=False)
    bundle = os.environ.get("RB_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    volume = ["--mount", "type=volume,dst=/srv"] if srv_volume else []
    docker("run", "-d", "--name", name, *volume, "-v", bundle + ":/etc/ssl/host-ca.crt:ro",
           "-e", "PIP_CERT=/etc/ssl/host-ca.crt", "-e", "REQUESTS_CA_BUNDLE=/etc/ssl/host-ca.crt",
           "-e", "NODE_EXTRA_CA_CERTS=/etc/ssl/host-ca.crt", SNAPSHOT)
    if slow_build:
        subprocess.run([DOCKER, "exec", "-i", name, "sh", "-c", "cat > %s && chmod 0644 %s" % (SLOW_BUILD_JS, SLOW_BUILD_JS)],
                       input=SLOW_BUILD_SOURCE % {"seconds": slow_build, "milliseconds": slow_build * 1000},
                       check=True, capture_output=True, text=True)
    for _second in range(60):
        status = docker("exec", name, "supervisorctl", "status", check=False).stdout
        if status and all(re.search(r"^%s\s+RUNNING" % p, status, re.M)
                          for p in ("postgresql", "web", "celery_worker", "nginx")):
            break
        time.sleep(1)
    else:
        raise RuntimeError("%s did not start its programs:\n%s" % (name, status))


def site_is_back(name: str) -> None:
    body = docker("exec", name, "curl", "-fs", "http://127.0.0.1/c/general/").stdout
    if "General post 1" not in body:
        raise AssertionError("%s does not serve the channels after the rollback" % name)


class Downtime(threading.Thread):
    """Ask the site for /healthz through nginx every `interval` seconds from this machine, as a
    user would, and add up the time it did not answer 200 (maintenance page, stopped app)."""

    def __init__(self, name: str, interval: float = 0.1) -> None:
        super().__init__(daemon=True)
        address = docker("inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", name).stdout.strip()
        self.url = "http://%s/healthz" % address
        self.interval = interval
        self.stopped = threading.Event()
        self.down = 0.0
        self.probes = 0

    def up(self) -> bool:
        try:
            with urllib.request.urlopen(self.url, timeout=1) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def run(self) -> None:
        last = time.perf_counter()
        while not self.stopped.is_set():
            state = self.up()
            now = time.perf_counter()
            self.probes += 1
            if not state:
                self.down += now - last
            last = now
            self.stopped.wait(self.interval)

    def __enter__(self) -> "Downtime":
        # supervisor says RUNNING a moment before gunicorn answers, longer on a loaded machine
        deadline = time.monotonic() + 60
        while not self.up():
            if time.monotonic() > deadline:
                raise RuntimeError("%s is not up before the rollback" % self.url)
            time.sleep(0.5)
        self.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.stopped.set()
        self.join()


def build_env(slow_build: int) -> list[str]:
    """`docker exec` options that make the frontend build slow (--slow-build), for the bare scripts."""
    return ["-e", "NODE_OPTIONS=" + SLOW_BUILD_OPTIONS] if slow_build else []


def deployed_at(name: str) -> str:
    return docker("exec", name, "cat", "/var/lib/open-discussions/deployed_at").stdout.strip()


def bare_script(name: str, watch: int, slow_build: int) -> dict:
    deployed = deployed_at(name)
    with Downtime(name) as downtime:
        elapsed = run([DOCKER, "exec", "-e", "DEPLOYED=" + deployed, "-e", "WATCH=%d" % watch,
                       *build_env(slow_build), name, "bash", "-c", SCRIPT])
    site_is_back(name)
    return {"total": elapsed, "down": downtime.down}


def floor(name: str, slow_build: int) -> dict:
    """The floor: FLOOR_AHEAD while the site serves, then FLOOR_DOWN; the probe runs over both."""
    deployed = deployed_at(name)
    with Downtime(name) as downtime:
        ahead = run([DOCKER, "exec", *build_env(slow_build), name, "bash", "-c", FLOOR_AHEAD])
        down_part, out = execute([DOCKER, "exec", "-e", "DEPLOYED=" + deployed, name, "bash", "-c", FLOOR_DOWN])
    site_is_back(name)
    marks = [(m.group(1), float(m.group(2))) for m in re.finditer(r"^floor-step (\w+) ([0-9.]+)$", out, re.M)]
    steps = {step: end - start for (_before, start), (step, end) in zip(marks, marks[1:])}
    return {"total": ahead + down_part, "down": downtime.down, "ahead": ahead, "down_part": down_part, "steps": steps}


def mitogen_strategy_dir() -> str:
    try:
        import ansible_mitogen  # pylint: disable=import-outside-toplevel
    except ImportError:
        sys.exit("--mitogen needs Mitogen in this venv: .venv/bin/pip install -r bench/requirements.txt")
    return os.path.join(os.path.dirname(ansible_mitogen.__file__), "plugins", "strategy")


def demo_app_environment() -> dict:
    """rollback_app_environment of inventories/demo, to add NODE_OPTIONS to without losing its keys."""
    # PyYAML comes with ansible-core.
    import yaml  # pylint: disable=import-outside-toplevel
    with open(os.path.join(ROOT, "inventories", "demo", "group_vars", "all.yml"), encoding="utf-8") as handle:
        return dict(yaml.safe_load(handle).get("rollback_app_environment") or {})


def playbook(name: str, watch: int, workdir: str, slow_build: int, log: str | None = None,
             extra: list[str] | None = None, mitogen: bool = False) -> dict:
    inventory = os.path.join(workdir, "inventory")
    shutil.rmtree(inventory, ignore_errors=True)
    shutil.copytree(os.path.join(ROOT, "inventories", "demo"), inventory)
    with open(os.path.join(inventory, "hosts.yml"), encoding="utf-8") as handle:
        hosts = handle.read().replace("rb-prod:", name + ":")
    if mitogen:
        # Mitogen takes over the connection plugins it knows by their short names only.
        hosts = hosts.replace("ansible_connection: community.docker.docker", "ansible_connection: docker")
    with open(os.path.join(inventory, "hosts.yml"), "w", encoding="utf-8") as handle:
        handle.write(hosts)
    deployed = deployed_at(name)
    extra_vars = [arg for var in extra or [] for arg in ("-e", var)]
    if slow_build:
        environment = dict(demo_app_environment(), NODE_OPTIONS=SLOW_BUILD_OPTIONS)
        extra_vars += ["-e", json.dumps({"rollback_app_environment": environment})]
    # Every task's time: the summary counts them all (it prints the slowest 8).
    env = dict(os.environ, ANSIBLE_CALLBACKS_ENABLED="ansible.posix.profile_tasks", PROFILE_TASKS_TASK_OUTPUT_LIMIT="all")
    if mitogen:
        env.update(ANSIBLE_STRATEGY_PLUGINS=mitogen_strategy_dir(), ANSIBLE_STRATEGY="mitogen_linear")
    with Downtime(name) as downtime:
        started = time.perf_counter()
        proc = subprocess.run(["ansible-playbook", "-i", inventory, "playbooks/rollback.yml",
                               "-e", "rollback_deployed_at=" + deployed, "-e", "rollback_scenario=1",
                               "-e", "rollback_monitor_seconds=%d" % watch, "-e", "rollback_monitor_interval=2",
                               *extra_vars],
                              cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - started
    if log:
        with open(log, "w", encoding="utf-8") as handle:
            handle.write(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise RuntimeError("rollback.yml failed:\n" + (proc.stdout + proc.stderr)[-3000:])
    site_is_back(name)
    profile = proc.stdout.rsplit("=====", 1)[-1].strip().splitlines()
    tasks = task_times(proc.stdout)
    return {"total": elapsed, "down": downtime.down, "summary": profile_summary(profile), "tasks": tasks,
            "window": downtime_window(tasks)}


TASK_BANNER = re.compile(r"^TASK(?:S RECAP)? (?:\[(.*)\] )?\*+\s*$")
PROFILE_CLOCK = re.compile(r"\(\d+:\d\d:[0-9.]+\)\s+(\d+):(\d\d):([0-9.]+) \*+\s*$")


def task_times(log: str) -> list[tuple[str, float]]:
    """Every task of the run in the log's order with its seconds: profile_tasks prints the run's
    clock under each task's banner (and under TASKS RECAP at the end); a task lasts until the next."""
    starts: list[tuple[str | None, float]] = []
    pending: str | None = None
    banner = False
    for line in log.splitlines():
        match = TASK_BANNER.match(line)
        if match:
            pending, banner = match.group(1), True
            continue
        clock = PROFILE_CLOCK.search(line) if banner else None
        if clock:
            starts.append((pending, int(clock.group(1)) * 3600 + int(clock.group(2)) * 60 + float(clock.group(3))))
        banner = False
    return [(task, end - start) for (task, start), (_next, end) in zip(starts, starts[1:]) if task is not None]


def downtime_window(tasks: list[tuple[str, float]]) -> list[tuple[str, float]]:
    """The tasks that ran while the site was down: after the one that turns the maintenance page on,
    up to and including the one that turns it off (the first of each; their own time is the window's)."""
    names = [task for task, _seconds in tasks]
    on = next((i for i, task in enumerate(names) if task.endswith(": Turn the maintenance page on")), None)
    if on is None:
        return []
    off = next((i for i, task in enumerate(names) if i > on and task.endswith(": Turn the maintenance page off")), None)
    return tasks[on + 1:(off + 1 if off is not None else len(tasks))]


def window_by_role(window: list[tuple[str, float]]) -> list[tuple[str, float, int]]:
    """The window's seconds per role (the part before ' : ' of a task's name), largest first."""
    roles: dict[str, list[float]] = {}
    for task, seconds in window:
        roles.setdefault(task.split(" : ", 1)[0] if " : " in task else "(play)", []).append(seconds)
    return sorted(((role, sum(times), len(times)) for role, times in roles.items()), key=lambda row: -row[1])


def profile_summary(profile: list[str]) -> str:
    """Where the playbook's time goes: tasks that reach the host (a module run over the
    connection, >= 0.2 s each here) against tasks the controller answers alone."""
    times = [float(m.group(1)) for m in (re.search(r" ([0-9.]+)s$", line) for line in profile) if m]
    remote = [t for t in times if t >= 0.2]
    local = [t for t in times if t < 0.2]
    lines = ["%d tasks ran: %d took 0.2 s or more (%.1f s in all, median %.2f s), %d took less (%.1f s in all)"
             % (len(times), len(remote), sum(remote), statistics.median(remote) if remote else 0,
                len(local), sum(local)), "", "Slowest tasks of the last playbook run (profile_tasks):"]
    return "\n".join(lines + profile[:8])


def median_of(samples: list[dict], key: str) -> float:
    return statistics.median(sample[key] for sample in samples)


def ratio(top: float, bottom: float) -> float | None:
    return round(top / bottom, 3) if bottom else None


def run_case(case: str, slow_build: int, options, workdir: str) -> dict:
    """--repeat repetitions of the bare script, the floor and the playbook (and Mitogen) on fresh copies."""
    ways: dict[str, list[dict]] = {"script": [], "floor": [], "playbook": [], "mitogen": []}
    for attempt in range(options.repeat):
        if not options.only_playbook:
            ways["script"].append(on_copy("rb-bench-script", slow_build,
                                          lambda name: bare_script(name, options.watch, slow_build)))
            ways["floor"].append(on_copy("rb-bench-floor", slow_build, lambda name: floor(name, slow_build)))
        ways["playbook"].append(on_copy("rb-bench-ansible", slow_build, lambda name: playbook(
            name, options.watch, workdir, slow_build, options.log, options.extra_var)))
        if options.mitogen:
            ways["mitogen"].append(on_copy("rb-bench-mitogen", slow_build, lambda name: playbook(
                name, options.watch, workdir, slow_build, extra=options.extra_var, mitogen=True)))
        print("%s run %d: %s" % (case, attempt + 1, ", ".join(
            "%s %.1f s (down %.1f s)" % (way, samples[-1]["total"], samples[-1]["down"])
            for way, samples in ways.items() if samples)), flush=True)
    medians = {way: {"total": round(median_of(samples, "total"), 3), "down": round(median_of(samples, "down"), 3)}
               for way, samples in ways.items() if samples}
    if ways["floor"]:
        medians["floor"].update(ahead=round(median_of(ways["floor"], "ahead"), 3),
                                down_part=round(median_of(ways["floor"], "down_part"), 3))
    last = ways["playbook"][-1]
    figures = {
        "slow_build_seconds": slow_build,
        "medians": medians,
        "samples": {way: [{key: (round(value, 3) if isinstance(value, float) else
                                 {k: round(v, 3) for k, v in value.items()})
                           for key, value in sample.items() if key in ("total", "down", "ahead", "down_part", "steps")}
                          for sample in samples] for way, samples in ways.items() if samples},
        # the last playbook run's tasks between maintenance on and off, in the log's order
        "playbook_downtime_tasks": [{"task": task, "seconds": round(seconds, 3)} for task, seconds in last["window"]],
        "playbook_downtime_tasks_seconds": round(sum(seconds for _task, seconds in last["window"]), 3),
        "playbook_downtime_by_role": [{"role": role, "seconds": round(seconds, 3), "tasks": count}
                                      for role, seconds, count in window_by_role(last["window"])],
        "playbook_tasks": len(last["tasks"]),
    }
    if ways["floor"]:
        steps = ways["floor"][0]["steps"].keys()
        figures["floor_steps_median"] = {step: round(statistics.median(s["steps"][step] for s in ways["floor"]), 3)
                                         for step in steps}
    if ways["script"]:
        figures["ratios"] = {
            "down_playbook_vs_script": ratio(medians["playbook"]["down"], medians["script"]["down"]),
            "down_playbook_vs_floor": ratio(medians["playbook"]["down"], medians["floor"]["down"]),
            "total_playbook_vs_script": ratio(medians["playbook"]["total"], medians["script"]["total"]),
            "down_script_vs_floor": ratio(medians["script"]["down"], medians["floor"]["down"]),
        }
        if ways["mitogen"]:
            figures["ratios"].update(
                down_mitogen_vs_script=ratio(medians["mitogen"]["down"], medians["script"]["down"]),
                total_mitogen_vs_script=ratio(medians["mitogen"]["total"], medians["script"]["total"]))
        figures["goals"] = GOALS
        figures["met"] = {key: figures["ratios"][key] <= goal for key, goal in GOALS.items()}
    print_case(case, figures, options, last["summary"], ways["mitogen"][-1]["summary"] if ways["mitogen"] else "")
    return figures


def print_case(case: str, figures: dict, options, summary: str, mitogen_summary: str) -> None:
    medians, slow = figures["medians"], figures["slow_build_seconds"]
    print("\nEnd to end on one docker host, case %s%s, median of %d (watch %d s); site down = time /healthz "
          "did not answer 200 through nginx, asked every 0.1 s from this machine:\n"
          % (case, " (the frontend build takes %d s longer in all three ways)" % slow if slow else "",
             options.repeat, options.watch))
    print("| way | total (s) | site down (s) |")
    print("|---|---:|---:|")
    labels = [("script", "bare script of the runbook's commands"),
              ("floor", "floor: all ahead, then stop + swaps + re-import + start alone"),
              ("playbook", "`playbooks/rollback.yml`"),
              ("mitogen", "`playbooks/rollback.yml` under Mitogen (`mitogen_linear`)")]
    for way, label in labels:
        if way in medians:
            print("| %s | %.1f | %.1f |" % (label, medians[way]["total"], medians[way]["down"]))
    if "ratios" in figures:
        ratios, met = figures["ratios"], figures["met"]
        print("\n| ratio | measured | goal | met |")
        print("|---|---:|---:|:---:|")
        for key, label in (("down_playbook_vs_script", "site down, playbook / bare script"),
                           ("down_playbook_vs_floor", "site down, playbook / floor"),
                           ("total_playbook_vs_script", "total, playbook / bare script (secondary)")):
            print("| %s | **%.2fx** | <= %.1fx | %s |" % (label, ratios[key], GOALS[key], "yes" if met[key] else "no"))
        print("\nsite down, bare script / floor: %.2fx" % ratios["down_script_vs_floor"])
        if "down_mitogen_vs_script" in ratios:
            print("under Mitogen / script: total %.2fx, site down %.2fx"
                  % (ratios["total_mitogen_vs_script"], ratios["down_mitogen_vs_script"]))
    if "floor_steps_median" in figures:
        print("\nThe floor's down part, step by step (median s; ahead of it, while the site served: %.1f s):"
              % medians["floor"]["ahead"])
        print(", ".join("%s %.2f" % (step, seconds) for step, seconds in figures["floor_steps_median"].items()))
    print("\nWhat dominates the playbook's downtime (last run: %d tasks between 'Turn the maintenance page on' "
          "and '... off', %.1f s by profile_tasks), per role:" % (len(figures["playbook_downtime_tasks"]),
                                                                  figures["playbook_downtime_tasks_seconds"]))
    for row in figures["playbook_downtime_by_role"]:
        print("  %-40s %6.2f s  (%d tasks)" % (row["role"], row["seconds"], row["tasks"]))
    print("Slowest tasks in that window:")
    for row in sorted(figures["playbook_downtime_tasks"], key=lambda row: -row["seconds"])[:10]:
        print("  %6.2f s  %s" % (row["seconds"], row["task"]))
    print("\n" + summary)
    if mitogen_summary:
        print("\nUnder Mitogen: " + mitogen_summary)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--repeat", type=int, default=3, help="repetitions of each way; the figures are medians (3)")
    parser.add_argument("--watch", type=int, default=10)
    parser.add_argument("--slow-build", type=int, default=0, metavar="SECONDS",
                        help="also run the case where the frontend build takes SECONDS longer (published: 20)")
    parser.add_argument("--reuse-snapshot", action="store_true", help="keep the image of an earlier run")
    parser.add_argument("--log", help="write the last playbook run's output here, with every task's time")
    parser.add_argument("--only-playbook", action="store_true", help="skip the bare script and the floor (when tuning)")
    parser.add_argument("--overlay-srv", dest="srv_volume", action="store_false",
                        help="leave /srv on the container's overlayfs, where `mv` of the app directory (from the "
                             "image) is a copy and the playbook's switch refuses (EXDEV); by default /srv of every "
                             "copy is a docker volume, as a host's filesystem, where a directory is renamed")
    parser.add_argument("--results-name", default="end_to_end", metavar="NAME",
                        help="write the figures to bench/results/NAME.json (end_to_end)")
    parser.add_argument("--no-results", action="store_true", help="do not write bench/results/NAME.json")
    parser.add_argument("-e", "--extra-var", action="append", default=[], metavar="NAME=VALUE",
                        help="passed to the playbook, e.g. -e rollback_restore_ahead=false")
    parser.add_argument("--mitogen", action="store_true",
                        help="also run the playbook under Mitogen's mitogen_linear strategy (see above)")
    options = parser.parse_args()
    global SRV_VOLUME  # pylint: disable=global-statement
    SRV_VOLUME = options.srv_volume
    if options.mitogen:
        mitogen_strategy_dir()
    if not (options.reuse_snapshot and docker("image", "inspect", SNAPSHOT, check=False).returncode == 0):
        build_snapshot()
    cases = [("normal", 0)] + ([("slow_build", options.slow_build)] if options.slow_build else [])
    figures: dict = {"repeat": options.repeat, "watch_seconds": options.watch, "extra_vars": options.extra_var,
                     "mitogen": options.mitogen, "only_playbook": options.only_playbook,
                     "srv_volume": options.srv_volume}
    with tempfile.TemporaryDirectory() as workdir:
        for case, slow_build in cases:
            figures[case] = run_case(case, slow_build, options, workdir)
            if not options.no_results:  # each case as soon as it is measured
                write_results(options.results_name, figures)
    if len(cases) > 1 and not options.only_playbook:
        normal, slow = figures["normal"]["medians"], figures["slow_build"]["medians"]
        growth = {way: round(slow[way]["down"] - normal[way]["down"], 3) for way in ("script", "floor", "playbook")}
        figures["downtime_growth_with_slow_build"] = growth
        print("\nSite down, slow build minus normal (the build took %d s longer): script %+.1f s, floor %+.1f s, "
              "playbook %+.1f s" % (options.slow_build, growth["script"], growth["floor"], growth["playbook"]))
    if not options.no_results:
        print("\nwrote " + os.path.relpath(write_results(options.results_name, figures), ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
