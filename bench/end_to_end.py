"""End to end: playbooks/rollback.yml vs a bare script of the runbook's own commands, same host.

Run: make bench ARGS=e2e, or .venv/bin/python bench/end_to_end.py [--repeat 1] [--watch 10].
Needs docker and the images (make images). Builds the broken demo stack once (the stand-in at
v1.4.0, seeded, backed up, broken by v1.5.0, rows written after), snapshots the container as an
image, then for each repetition starts two fresh copies of it and rolls one back with the bare
commands of the runbook (one `docker exec bash`, `set -e`) and the other with
`ansible-playbook playbooks/rollback.yml` (inventories/demo settings; monitoring shortened to
--watch seconds, as the script's watch). Both must end with the site serving the channels again.
While each runs, this machine asks the site for /healthz through nginx every 0.1 s: the time it
does not answer 200 is the site's downtime as a user sees it. Prints the medians of the total
and of the downtime, the ratios (goal: total <= 1.3x), how many tasks reached the host and the
slowest tasks of the playbook run (profile_tasks), which say what dominates the overhead.

With --mitogen each repetition also rolls a third copy back with the same playbook under
Mitogen's `mitogen_linear` strategy (bench/requirements.txt): one Python interpreter per host for
the whole run instead of a new one per task. It is not how the collection runs (ansible-core 2.19
deprecates strategy plugins outside ansible.builtin); it measures how much of the playbook's time
is Ansible's cost of starting each task's module on the host.
"""
from __future__ import annotations

import argparse
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


def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([DOCKER, *args], check=check, capture_output=True, text=True)


def run(argv: list[str], **kwargs) -> float:
    started = time.perf_counter()
    proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False, **kwargs)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError("%s failed:\n%s" % (" ".join(argv[:4]), (proc.stdout + proc.stderr)[-3000:]))
    return elapsed


def build_snapshot() -> None:
    """The broken demo stack, stopped cleanly and committed as an image."""
    run(["molecule", "destroy", "-s", "default"])
    run(["molecule", "create", "-s", "default"])
    run(["ansible-playbook", "-i", os.path.join(ROOT, "inventories", "demo"),
         os.path.join(ROOT, "molecule", "resources", "playbooks", "demo_stack.yml")])
    docker("exec", BUILDER, "supervisorctl", "stop", "all")
    docker("commit", BUILDER, SNAPSHOT)
    run(["molecule", "destroy", "-s", "default"])


def on_copy(name: str, work):
    """Start a copy of the broken stack named ``name``, return ``work(name)`` and remove the copy
    (also when the work fails, so that the next run can start a copy of that name)."""
    start_copy(name)
    try:
        return work(name)
    finally:
        docker("rm", "-f", name, check=False)


def start_copy(name: str) -> None:
    docker("rm", "-f", name, check=False)
    bundle = os.environ.get("RB_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    docker("run", "-d", "--name", name, "-v", bundle + ":/etc/ssl/host-ca.crt:ro",
           "-e", "PIP_CERT=/etc/ssl/host-ca.crt", "-e", "REQUESTS_CA_BUNDLE=/etc/ssl/host-ca.crt",
           "-e", "NODE_EXTRA_CA_CERTS=/etc/ssl/host-ca.crt", SNAPSHOT)
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
        if not self.up():
            raise RuntimeError("%s is not up before the rollback" % self.url)
        self.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.stopped.set()
        self.join()


def bare_script(name: str, watch: int) -> tuple[float, float]:
    deployed = docker("exec", name, "cat", "/var/lib/open-discussions/deployed_at").stdout.strip()
    with Downtime(name) as downtime:
        elapsed = run([DOCKER, "exec", "-e", "DEPLOYED=" + deployed, "-e", "WATCH=%d" % watch, name, "bash", "-c", SCRIPT])
    site_is_back(name)
    return elapsed, downtime.down


def mitogen_strategy_dir() -> str:
    try:
        import ansible_mitogen  # pylint: disable=import-outside-toplevel
    except ImportError:
        sys.exit("--mitogen needs Mitogen in this venv: .venv/bin/pip install -r bench/requirements.txt")
    return os.path.join(os.path.dirname(ansible_mitogen.__file__), "plugins", "strategy")


def playbook(name: str, watch: int, workdir: str, log: str | None = None,
             extra: list[str] | None = None, mitogen: bool = False) -> tuple[float, float, str]:
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
    deployed = docker("exec", name, "cat", "/var/lib/open-discussions/deployed_at").stdout.strip()
    # Every task's time: the summary counts them all (it prints the slowest 8).
    env = dict(os.environ, ANSIBLE_CALLBACKS_ENABLED="ansible.posix.profile_tasks", PROFILE_TASKS_TASK_OUTPUT_LIMIT="all")
    if mitogen:
        env.update(ANSIBLE_STRATEGY_PLUGINS=mitogen_strategy_dir(), ANSIBLE_STRATEGY="mitogen_linear")
    with Downtime(name) as downtime:
        started = time.perf_counter()
        proc = subprocess.run(["ansible-playbook", "-i", inventory, "playbooks/rollback.yml",
                               "-e", "rollback_deployed_at=" + deployed, "-e", "rollback_scenario=1",
                               "-e", "rollback_monitor_seconds=%d" % watch, "-e", "rollback_monitor_interval=2",
                               *[arg for var in extra or [] for arg in ("-e", var)]],
                              cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - started
    if log:
        with open(log, "w", encoding="utf-8") as handle:
            handle.write(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise RuntimeError("rollback.yml failed:\n" + (proc.stdout + proc.stderr)[-3000:])
    site_is_back(name)
    profile = proc.stdout.rsplit("=====", 1)[-1].strip().splitlines()
    return elapsed, downtime.down, profile_summary(profile)


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--watch", type=int, default=10)
    parser.add_argument("--reuse-snapshot", action="store_true", help="keep the image of an earlier run")
    parser.add_argument("--log", help="write the last playbook run's output here, with every task's time")
    parser.add_argument("--only-playbook", action="store_true", help="skip the bare script (when tuning)")
    parser.add_argument("-e", "--extra-var", action="append", default=[], metavar="NAME=VALUE",
                        help="passed to the playbook, e.g. -e rollback_restore_ahead=false")
    parser.add_argument("--mitogen", action="store_true",
                        help="also run the playbook under Mitogen's mitogen_linear strategy (see above)")
    options = parser.parse_args()
    if options.mitogen:
        mitogen_strategy_dir()
    if not (options.reuse_snapshot and docker("image", "inspect", SNAPSHOT, check=False).returncode == 0):
        build_snapshot()
    scripts, playbooks, script_down, playbook_down, summary = [], [], [], [], ""
    mitogens, mitogen_down, mitogen_summary = [], [], ""
    with tempfile.TemporaryDirectory() as workdir:
        for attempt in range(options.repeat):
            if not options.only_playbook:
                elapsed, down = on_copy("rb-bench-script", lambda name: bare_script(name, options.watch))
                scripts.append(elapsed)
                script_down.append(down)
            elapsed, down, summary = on_copy("rb-bench-ansible", lambda name: playbook(
                name, options.watch, workdir, options.log, options.extra_var))
            playbooks.append(elapsed)
            playbook_down.append(down)
            if options.mitogen:
                took, off, mitogen_summary = on_copy("rb-bench-mitogen", lambda name: playbook(
                    name, options.watch, workdir, extra=options.extra_var, mitogen=True))
                mitogens.append(took)
                mitogen_down.append(off)
            print("run %d: script %s s (down %s s), playbook %.1f s (down %.1f s)%s"
                  % (attempt + 1, "%.1f" % scripts[-1] if scripts else "-", "%.1f" % script_down[-1] if scripts else "-",
                     elapsed, down, ", under Mitogen %.1f s (down %.1f s)" % (mitogens[-1], mitogen_down[-1])
                     if mitogens else ""), flush=True)
    if not scripts:
        print("\n" + summary)
        return 0
    script, ansible = statistics.median(scripts), statistics.median(playbooks)
    script_off, ansible_off = statistics.median(script_down), statistics.median(playbook_down)
    print("\nEnd to end on one docker host, median of %d (watch %d s in both); site down = time /healthz "
          "did not answer 200 through nginx, asked every 0.1 s from this machine:\n" % (options.repeat, options.watch))
    print("| way | total (s) | site down (s) |")
    print("|---|---:|---:|")
    print("| bare script of the runbook's commands | %.1f | %.1f |" % (script, script_off))
    print("| `playbooks/rollback.yml` | %.1f | %.1f |" % (ansible, ansible_off))
    if mitogens:
        print("| `playbooks/rollback.yml` under Mitogen (`mitogen_linear`) | %.1f | %.1f |"
              % (statistics.median(mitogens), statistics.median(mitogen_down)))
    print("\nratio playbook / script: total **%.2fx** (goal <= 1.3x), site down **%.2fx**; the automation's "
          "own cost: %.1f s" % (ansible / script, ansible_off / script_off, ansible - script))
    if mitogens:
        print("ratio under Mitogen / script: total **%.2fx**, site down **%.2fx**"
              % (statistics.median(mitogens) / script, statistics.median(mitogen_down) / script_off))
    print("\n" + summary)
    if mitogen_summary:
        print("\nUnder Mitogen: " + mitogen_summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
