"""Faults injected into the rollback of the broken demo stack (docs/reliability.md lists them).

The stack is the e2e one, broken by the bad deployment. The tests run in file order, each from
what the previous one left, and drive ``ansible-playbook`` as an operator would. They check
what each fault leaves behind:

* refused before anything stops: the live database (pg_dump checksum and the rows of every
  table), the git checkout, the programs (same pids) and the maintenance flag exactly as before;
* failing after the services stopped: the state file, the services as the failure policy says,
  the resume command, and no row lost: the rows of every table before the rollback equal the
  rows restored plus the rows exported (and, once the run completes, re-imported).
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request

import pytest
import yaml

# The stack's host; rb-faults-notify receives the notices.
testinfra_hosts = ["ansible://db"]
PROJECT = os.environ["MOLECULE_PROJECT_DIRECTORY"]
INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
ANSIBLE_PLAYBOOK = shutil.which("ansible-playbook") or os.path.join(os.path.dirname(sys.executable),
                                                                    "ansible-playbook")
STACK_VARS = os.path.join(PROJECT, "molecule", "resources", "group_vars", "all.yml")
BREAK_APP = os.path.join(PROJECT, "molecule", "resources", "playbooks", "break_app.yml")
STATE_DIR = "/var/lib/runbooks-rollback"
APP = "/srv/open-discussions"
FLAG = "/var/www/maintenance/on"
PROGRAMS = ("web", "celery_worker", "celery_beat")
# The rows a restore loses and the re-import brings back (the data-loss report's tables).
LOSS_TABLES = ("auth_user", "course_catalog_podcast")
# Tables a rollback rewrites on purpose: the bad migration's rows go, the search index is rebuilt,
# and the sessions are the backup's (a login since the deployment is gone: that user logs in again;
# django_session has no creation time to export by).
REWRITTEN = ("django_migrations", "search_searchdocument", "django_session")
ROW_COUNTS = ("SELECT table_name, (xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %I', "
              "table_name), false, true, '')))[1]::text FROM information_schema.tables "
              "WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1")


# --- helpers ------------------------------------------------------------------------------

def receiver_address():
    """The notice receiver's address on the scenario's network, as this controller reaches it."""
    return subprocess.check_output(["docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
                                    "rb-faults-notify"], text=True).strip()


def received():
    with urllib.request.urlopen("http://%s:8025/messages" % receiver_address(), timeout=10) as answer:
        return json.load(answer)


def notice_vars():
    """Audiences sending from the controller (rollback_notify_host's default) to the receiver."""
    address = receiver_address()
    hook = "http://%s:8025/hooks/" % address
    return {"rollback_mail_host": address, "rollback_mail_port": 2525, "rollback_mail_secure": "never",
            "rollback_audiences": {"engineering": {"mail_to": ["oncall@example.com"], "webhook_url": hook + "engineering"},
                                   "product": {"webhook_url": hook + "product", "webhook_format": "slack"},
                                   "support": {"mail_to": ["support@example.com"]},
                                   "management": {"mail_to": ["cto@example.com"], "events": ["start", "end"]}}}


def stack_vars():
    """The demo stack's group_vars (molecule/resources/group_vars/all.yml)."""
    with open(STACK_VARS, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def app_environment(**extra):
    """The stack's rollback_app_environment plus extra variables (how a fault is injected)."""
    env = dict(stack_vars()["rollback_app_environment"])
    env.update(extra)
    return env


def deployed_at(host):
    return host.file("/var/lib/open-discussions/deployed_at").content_string.strip()


# The playbooks' output is read as text: no colour codes, however pytest itself was started
# (molecule forces colour unless told not to).
PLAIN_OUTPUT = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")


def command(host, playbook, rollback_id, *options, **extra):
    extra.setdefault("rollback_deployed_at", deployed_at(host))
    extra["rollback_id"] = rollback_id
    return [ANSIBLE_PLAYBOOK, "-i", INVENTORY, playbook if os.path.isabs(playbook)
            else os.path.join(PROJECT, "playbooks", playbook), "-e", json.dumps(extra), *options]


def run(host, playbook, rollback_id, *options, **extra):
    """ansible-playbook as an operator runs it; returns (exit code, stdout + stderr)."""
    proc = subprocess.run(command(host, playbook, rollback_id, *options, **extra), capture_output=True,
                          text=True, check=False, timeout=1800, env=PLAIN_OUTPUT)
    return proc.returncode, proc.stdout + proc.stderr


def psql(host, query, db="open_discussions"):
    return host.check_output("runuser -u postgres -- psql -At -d %s -c %s", db, query).strip()


def rows(host, db="open_discussions"):
    out = psql(host, ROW_COUNTS, db)
    return {table: int(count) for table, count in (line.split("|") for line in out.splitlines())}


def programs(host):
    """Program -> 'RUNNING pid 123' (the pid proves a program was not restarted)."""
    out = host.run("supervisorctl status").stdout
    found = {}
    for line in out.splitlines():
        fields = line.split()
        if fields and fields[0] in PROGRAMS:
            match = re.search(r"pid (\d+)", line)
            found[fields[0]] = fields[1] + (" pid " + match.group(1) if match else "")
    return found


def http_status(host, path="/"):
    return int(host.check_output("curl -s -o /dev/null -w '%%{http_code}' http://127.0.0.1%s", path))


def git(host, *args):
    return host.check_output("runuser -u od -- git -C %s %s" % (APP, " ".join(args)))


def snapshot(host):
    """Everything a fault refused before the stop must leave as it was."""
    return {
        # pg_dump writes a random \restrict key on each run (PostgreSQL 15.14+): not content.
        "database": host.check_output("runuser -u postgres -- pg_dump open_discussions "
                                      "| grep -v '^.\\(un\\)\\?restrict ' | sha256sum"),
        "rows": rows(host),
        "databases": psql(host, "SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database", "postgres"),
        "head": git(host, "rev-parse", "HEAD"),
        "worktree": git(host, "status", "--porcelain"),
        "programs": programs(host),
        "maintenance": host.file(FLAG).exists,
        "work": host.run("ls -R /backups/rollback").stdout,
        # A copy of the checkout prepared ahead (<app>.rollback-<id>) or replaced (<app>.replaced-<id>).
        "releases": host.run("ls -d %s*" % APP).stdout,
    }


AUDIT = STATE_DIR + "/audit.jsonl"


def audit(host):
    """The audit log: one JSON object per rollback run, oldest first (empty when none yet)."""
    found = host.file(AUDIT)
    if not found.exists:
        return []
    assert found.mode == 0o600, oct(found.mode)
    return [json.loads(line) for line in found.content_string.splitlines()]


def assert_audited(host, lines_before, rollback_id, outcome, **fields):
    """The run appended exactly one line, about this rollback, with this outcome and these fields."""
    lines = audit(host)
    assert lines[:len(lines_before)] == lines_before, "an earlier audit line changed"
    assert len(lines) == len(lines_before) + 1, lines[len(lines_before):]
    line = lines[-1]
    assert (line["rollback_id"], line["outcome"]) == (rollback_id, outcome), line
    assert line["who"], line
    for name, value in fields.items():
        assert line[name] == value, (name, line)
    return line


def state(host, rollback_id):
    return json.loads(host.file("%s/%s.json" % (STATE_DIR, rollback_id)).content_string)


def refused(host, before, code, out, *fragments):
    """The run failed with every fragment in its output and touched nothing."""
    assert code != 0, out[-3000:]
    for fragment in fragments:
        assert fragment in out, "%r not in the output:\n%s" % (fragment, out[-3000:])
    assert snapshot(host) == before


def export_manifest(host, rollback_id):
    manifest = json.loads(host.file("/backups/rollback/%s/recent-data/manifest.json" % rollback_id).content_string)
    return {entry["table"].split(".")[-1]: entry["rows"] for entry in manifest["tables"]}


def assert_no_row_lost_so_far(host, before, rollback_id):
    """Mid-rollback: rows before = rows restored + rows exported, for every table of the report;
    and the database of before the rollback is kept whole."""
    exported = export_manifest(host, rollback_id)
    now = rows(host)
    for table in LOSS_TABLES:
        assert exported[table] > 0, (table, exported)
        assert before["rows"][table] == now[table] + exported[table], (table, before["rows"][table], now, exported)
    kept = rows(host, "open_discussions_pre_rollback_%s" % rollback_id)
    assert kept == before["rows"]


def assert_no_row_lost(host, before, rollback_id, reimported_before=False):
    """After a completed rollback: every table has the rows it had before (those restored plus
    those re-imported), except the two a rollback rewrites; and the re-import put back exactly
    what the export held (reimported_before: an interrupted run may have put some back already,
    which the resumed re-import finds present)."""
    now = rows(host)
    for table, count in before["rows"].items():
        if table not in REWRITTEN:
            assert now.get(table) == count, (table, count, now.get(table))
    recovered = state(host, rollback_id)["phases"]["recover_data"]["details"]
    exported = export_manifest(host, rollback_id)
    inserted = {table.split(".")[-1]: count for table, count in recovered["inserted"].items()}
    if reimported_before:
        total = sum(exported[table] for table in LOSS_TABLES)
        assert recovered["total_inserted"] + recovered["total_already_present"] == total > 0, (recovered, exported)
    else:
        for table in LOSS_TABLES:
            assert inserted[table] == exported[table] > 0, (table, inserted, exported)
    assert recovered["total_skipped"] == 0


def wait_for_no_leftover(host, timeout=600):
    """After the controller was killed, the module it started on the host runs to its end."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        # Modules run as 'python3 && sleep 0' (pipelining) or behind become's marker; the
        # brackets keep pgrep from matching its own shell.
        if host.run("pgrep -f '[s]leep 0|[B]ECOME-SUCCESS|[n]pm |[p]oetry'").rc != 0:
            return
        time.sleep(2)
    raise AssertionError("the killed run's processes are still running on the host")


@pytest.fixture(scope="module")
def before(host):
    """The broken stack as the tests found it."""
    for program in PROGRAMS:
        assert programs(host)[program].startswith("RUNNING")
    assert psql(host, "SELECT to_regclass('channels_channel') IS NULL") == "t"
    return snapshot(host)


# --- refused before anything stops -----------------------------------------------------------

def test_a_missing_backup_is_refused_before_anything_stops(host, before):
    lines = audit(host)
    # rollback_id '' as an AWX survey left blank sends it (an extra variable): decide names a new id
    # and goes on to the checklist, which refuses the backup.
    code, out = run(host, "rollback.yml", "", rollback_backup_file="/backups/postgresql/missing.dump")
    refused(host, before, code, out, "backup /backups/postgresql/missing.dump does not exist",
            "Nothing was stopped")
    named = audit(host)[-1]["rollback_id"]
    assert re.fullmatch(r"\d{8}T\d{6}", named), named
    # Refused by the checklist: in the audit log, with the reason and the decision that allowed it.
    line = assert_audited(host, lines, named, "refused", failed_phase="decide", check_mode=False,
                          environment="demo", from_commit=None)
    assert "missing.dump does not exist" in line["error"], line
    assert line["decision"]["rollback_allowed"] is True, line


def test_an_empty_backup_is_refused_before_anything_stops(host, before):
    host.check_output("install -o postgres -m 0600 /dev/null /backups/postgresql/empty.dump")
    host.check_output("touch -d 2020-01-01 /backups/postgresql/empty.dump")
    code, out = run(host, "rollback.yml", "F-empty", rollback_backup_file="/backups/postgresql/empty.dump")
    refused(host, before, code, out, "backup /backups/postgresql/empty.dump is empty (0 bytes)", "Nothing was stopped")


def test_a_truncated_plain_dump_is_refused_before_anything_stops(host, before):
    host.check_output("runuser -u postgres -- sh -c 'pg_dump open_discussions | head -c 20000 "
                      "> /backups/postgresql/truncated.sql'")
    host.check_output("touch -d 2020-01-01 /backups/postgresql/truncated.sql")
    code, out = run(host, "rollback.yml", "F-truncated", rollback_backup_file="/backups/postgresql/truncated.sql")
    refused(host, before, code, out, "backup /backups/postgresql/truncated.sql is truncated", "Nothing was stopped")


def test_a_corrupt_custom_dump_is_refused_before_anything_stops(host, before):
    good = host.check_output("ls -1t /backups/postgresql/open_discussions_*.dump | head -1")
    size = int(host.check_output("stat -c %%s %s", good))
    host.check_output("cp -p %s /backups/postgresql/corrupt.dump" % good)
    # Overwrite the middle of the archive data: the table of contents at the start still reads.
    host.check_output("dd if=/dev/urandom of=/backups/postgresql/corrupt.dump bs=1 seek=%d count=512 "
                      "conv=notrunc status=none" % (size * 2 // 3))
    code, out = run(host, "rollback.yml", "F-corrupt", rollback_backup_file="/backups/postgresql/corrupt.dump")
    refused(host, before, code, out, "backup /backups/postgresql/corrupt.dump is", "corrupt", "Nothing was stopped")


def test_a_backup_newer_than_the_deployment_is_refused_before_anything_stops(host, before):
    host.check_output("runuser -u postgres -- pg_dump -Fc -f /backups/postgresql/after_deployment.dump open_discussions")
    code, out = run(host, "rollback.yml", "F-newer", rollback_backup_file="/backups/postgresql/after_deployment.dump")
    refused(host, before, code, out, "after the deployment at", "restoring it would bring back the bad deployment",
            "Nothing was stopped")
    host.check_output("rm -f /backups/postgresql/after_deployment.dump")


def test_a_backup_of_after_the_deployment_dated_before_it_is_refused_by_its_migrations(host, before):
    # Copied from elsewhere, its file date says before the deployment; its django_migrations rows say
    # after: notifications.0002_remove_channels, which v1.4.0 does not have.
    host.check_output("runuser -u postgres -- pg_dump -Fc -f /backups/postgresql/mislabeled.dump open_discussions")
    host.check_output("touch -d 2020-01-01 /backups/postgresql/mislabeled.dump")
    try:
        code, out = run(host, "rollback.yml", "F-wrong-backup", rollback_backup_file="/backups/postgresql/mislabeled.dump")
        refused(host, before, code, out, "/backups/postgresql/mislabeled.dump", "notifications.0002_remove_channels",
                "v1.4.0", "rollback_migration_policy", "Nothing was stopped")
    finally:
        host.check_output("rm -f /backups/postgresql/mislabeled.dump")


def test_a_target_commit_with_a_destructive_migration_the_backup_lacks_is_refused(host, before):
    # The operator names the merged branch instead of the last good release: its
    # 0002_remove_channels (RunSQL, drops tables) is not in the backup and is not additive.
    code, out = run(host, "rollback.yml", "F-wrong-commit", rollback_code_target="v1.5.0^2")
    refused(host, before, code, out, "notifications.0002_remove_channels", "RunSQL", "Nothing was stopped")


def test_an_unreachable_celery_broker_is_refused_before_anything_stops(host, before):
    code, out = run(host, "rollback.yml", "F-broker", rollback_celery_broker_url="redis://:s3cr3t-broker@127.0.0.1:6390/0")
    refused(host, before, code, out, "127.0.0.1:6390", "Nothing was stopped")
    assert "s3cr3t-broker" not in out


@pytest.mark.parametrize("extra, fragments", [
    ({"rollback_scenario": "severe"}, ["scenario 'severe' is unknown"]),
    ({"rollback_deployed_at": "2026-11-24T09:30:00"}, ["has no time zone"]),
    ({"rollback_monitor_seconds": "five minutes"}, ["rollback_monitor_seconds", "cannot be converted to an int"]),
    ({"rollback_on_failure": "panic"}, ["rollback_on_failure must be one of: keep_maintenance, restore_services"]),
    ({"rollback_environment": "prod"}, ["rollback_confirm=prod"]),
    ({"rollback_scenario": "3"}, ["Nothing was changed", "-e rollback_override=true"]),
    ({"rollback_scenario": "", "rollback_symptoms": ["search_broken"]},
     ["symptom 'search_broken' is ambiguous", "search_completely_broken (Search completely broken, scenario 1)",
      "course_search_broken", "search_results_missing"]),
    ({"rollback_scenario": "", "rollback_symptoms": ["ui_glitches", "search_results_missing"]},
     ["scenario 3 minor calls for fix forward: rollback denied",
      "Symptoms: UI glitches (scenario 3); Some search results missing (scenario 3).", "Nothing was changed"]),
], ids=["unknown-scenario", "time-without-zone", "wrong-type", "unknown-policy", "prod-unconfirmed",
        "matrix-denies", "ambiguous-symptom", "minor-symptoms-deny"])
def test_bad_variables_are_refused_before_anything_runs(host, before, extra, fragments):
    lines = audit(host)
    code, out = run(host, "rollback.yml", "F-vars", **extra)
    refused(host, before, code, out, *fragments)
    if "Validation of arguments failed" in out:
        # Refused before the rollback is even named: not a rollback run, nothing in the audit log.
        assert audit(host) == lines
    else:
        line = assert_audited(host, lines, "F-vars", "refused", failed_phase="decide")
        assert line["phases"] == [{"phase": "decide", "status": "failed"}], line


def test_an_unknown_supervisor_program_is_refused_before_anything_stops(host, before):
    code, out = run(host, "rollback.yml", "F-program", rollback_worker_programs=["celery_beat", "celery_wrker"])
    refused(host, before, code, out, "has no program named celery_wrker", "Known programs:", "Nothing was stopped")


def test_a_missing_last_good_commit_is_refused_before_anything_stops(host, before):
    code, out = run(host, "rollback.yml", "F-commit", rollback_code_target="v9.9.9")
    refused(host, before, code, out, "v9.9.9 is not a commit of /srv/open-discussions", "Nothing was stopped")


def test_a_revert_of_a_commit_that_is_not_a_merge_is_refused_before_anything_stops(host, before):
    code, out = run(host, "rollback.yml", "F-revert", rollback_code_method="revert", rollback_merge_commit="v1.4.0")
    refused(host, before, code, out, "v1.4.0", "is not a merge commit", "Nothing was stopped")


def test_uncommitted_changes_in_the_checkout_are_refused_before_anything_stops(host, before):
    host.check_output("runuser -u od -- sh -c 'echo \\# local-edit >> %s/manage.py'" % APP)
    try:
        code, out = run(host, "rollback.yml", "F-dirty")
        assert code != 0, out[-3000:]
        for fragment in ("has uncommitted changes that the rollback would lose", "manage.py",
                         "code_rollback_discard_local_changes=true", "Nothing was stopped"):
            assert fragment in out, "%r not in the output:\n%s" % (fragment, out[-3000:])
        assert host.file(APP + "/manage.py").content_string.endswith("# local-edit\n")
    finally:
        git(host, "checkout", "--", "manage.py")
    assert snapshot(host) == before


def test_an_unreachable_database_is_refused_before_anything_stops(host, before):
    host.check_output("supervisorctl stop postgresql")
    try:
        code, out = run(host, "rollback.yml", "F-nodb")
        assert code != 0
        assert "Nothing was stopped" in out and "Rollback F-nodb stopped in phase decide" in out, out[-3000:]
        assert re.search(r"(connect|connection).*(server|database)", out, re.I), out[-3000:]
        assert programs(host) == before["programs"] and not host.file(FLAG).exists
    finally:
        host.check_output("supervisorctl start postgresql")
        host.run("for i in $(seq 30); do runuser -u postgres -- pg_isready -q && exit 0; sleep 1; done; exit 1")
    assert snapshot(host) == before


# --- check mode ---------------------------------------------------------------------------------

def test_check_mode_over_the_whole_rollback_changes_nothing(host, before):
    states = host.run("ls -I audit.jsonl %s" % STATE_DIR).stdout
    lines = audit(host)
    code, out = run(host, "rollback.yml", "F-check", "--check", **notice_vars())
    assert code == 0, out[-3000:]
    assert "Check mode - would" in out
    assert "write the start notice of engineering, product, support, management" in out
    # Nothing sent in check mode.
    assert "F-check" not in json.dumps(received())
    assert snapshot(host) == before
    assert host.run("ls -I audit.jsonl %s" % STATE_DIR).stdout == states, "check mode wrote a state file"
    # ... but the check-mode run is in the audit log, as one.
    assert_audited(host, lines, "F-check", "completed", check_mode=True)


# --- a restore that fails halfway ----------------------------------------------------------------

def write_backup_that_fails_late(host):
    # It holds no django_migrations table: the runs restoring it pass rollback_migration_policy=none,
    # or the decide phase would refuse it before the restore these tests are about.
    host.check_output("printf '%s\\n' '--' '-- PostgreSQL database dump' '--' "
                      "'CREATE TABLE auth_user (id serial PRIMARY KEY);' 'INSERT INTO no_such_table VALUES (1);' "
                      "'--' '-- PostgreSQL database dump complete' '--' > /backups/postgresql/fails_late.sql")
    host.check_output("chown postgres /backups/postgresql/fails_late.sql && chmod 0600 /backups/postgresql/fails_late.sql "
                      "&& touch -d 2020-01-01 /backups/postgresql/fails_late.sql")


def test_a_backup_that_fails_to_restore_ahead_is_found_before_anything_stops(host, before):
    write_backup_that_fails_late(host)
    code, out = run(host, "rollback.yml", "F-ahead", rollback_backup_file="/backups/postgresql/fails_late.sql",
                    rollback_migration_policy="none")
    assert code != 0
    for fragment in ("Rollback F-ahead stopped in phase restore_ahead", "no_such_table", "was not touched",
                     "Nothing was stopped: the site runs as before"):
        assert fragment in out, (fragment, out[-3000:])
    after = snapshot(host)
    assert after == before, "the failed restore ahead changed something"
    record = state(host, "F-ahead")
    assert record["phases"]["restore_ahead"]["status"] == "failed" and "stop" not in record["phases"]


def test_a_restore_that_fails_late_leaves_the_live_database_untouched_and_the_site_back(host, before):
    # Without the restore ahead, the restore runs in the database phase, after the stop. The dump
    # of the current state is made there too, before the swap, as when the database phase runs
    # without the verify phase after it (an AWX job of its own, --tags): db_rollback_dump_after_swap.
    write_backup_that_fails_late(host)
    code, out = run(host, "rollback.yml", "F-restore", rollback_backup_file="/backups/postgresql/fails_late.sql",
                    rollback_migration_policy="none", db_rollback_dump_after_swap="false",
                    rollback_on_failure="restore_services", rollback_restore_ahead="false")
    assert code != 0
    for fragment in ("Rollback F-restore stopped in phase database", "no_such_table", "was not touched",
                     "started again on the pre-rollback state", "-e rollback_id=F-restore"):
        assert fragment in out, (fragment, out[-3000:])
    after = snapshot(host)
    assert after["database"] == before["database"] and after["rows"] == before["rows"]
    assert after["databases"] == before["databases"], "a scratch or kept database was left behind"
    assert all(status.startswith("RUNNING") for status in after["programs"].values())
    assert not after["maintenance"] and http_status(host) == 200
    record = state(host, "F-restore")
    assert record["phases"]["database"]["status"] == "failed" and "stop" not in record["phases"]
    assert "restore_ahead" not in record["phases"]


def test_resumed_after_the_services_ran_again_the_rows_written_meanwhile_are_saved_too(host, before):
    # F-restore left the site running on the pre-rollback state, with the export and the dump it
    # made after its stop. A user signs up; the operator runs the same command again.
    work = "/backups/rollback/F-restore"
    first_export = export_manifest(host, "F-restore")
    first_manifest = host.file(work + "/recent-data/manifest.json").content_string
    sequence = psql(host, "SELECT last_value || ',' || is_called FROM auth_user_id_seq")
    psql(host, "INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, is_staff, "
               "is_active, date_joined) VALUES ('!', false, 'rb_late_signup', '', '', '', false, true, now())")
    try:
        code, out = run(host, "rollback.yml", "F-restore", rollback_backup_file="/backups/postgresql/fails_late.sql",
                        rollback_migration_policy="none", db_rollback_dump_after_swap="false",
                        rollback_on_failure="restore_services", rollback_restore_ahead="false")
        assert code != 0
        for fragment in ("Rollback F-restore stopped in phase database", "started again on the pre-rollback state"):
            assert fragment in out, (fragment, out[-3000:])
        # Exported and dumped again after this stop, the new user with them...
        assert export_manifest(host, "F-restore")["auth_user"] == first_export["auth_user"] + 1
        assert "rb_late_signup" in host.file(work + "/recent-data/public.auth_user.jsonl").content_string
        dumped = host.run("runuser -u postgres -- pg_restore --data-only --table auth_user -f - %s/"
                          "open_discussions_pre_rollback.pgc", work)
        assert dumped.rc == 0 and "rb_late_signup" in dumped.stdout, dumped.stderr
        # ...and what the first attempt saved is kept aside, whole.
        aside = host.run("ls -d %s/recent-data.stale-* %s/open_discussions_pre_rollback.pgc.stale-*" % (work, work))
        assert aside.rc == 0 and len(aside.stdout.split()) == 2, aside.stdout + aside.stderr
        stale_export = [path for path in aside.stdout.split() if "/recent-data.stale-" in path][0]
        assert host.file(stale_export + "/manifest.json").content_string == first_manifest
        assert state(host, "F-restore")["phases"]["database"]["attempts"] == 2
    finally:
        psql(host, "DELETE FROM auth_user WHERE username = 'rb_late_signup'")
        last_value, is_called = sequence.split(",")
        psql(host, "SELECT setval('auth_user_id_seq', %s, '%s'::boolean)" % (last_value, is_called))
    after = snapshot(host)
    assert after["database"] == before["database"] and after["rows"] == before["rows"]
    assert all(status.startswith("RUNNING") for status in after["programs"].values())


def test_a_failure_after_the_restore_ahead_but_before_the_swap_leaves_no_copy_behind(host, before):
    # The export directory of this rollback id taken by a file: the database phase fails making
    # the export, after the stop and the restore ahead, before anything is swapped.
    host.check_output("mkdir -p /backups/rollback/F-drop && touch /backups/rollback/F-drop/recent-data")
    try:
        code, out = run(host, "rollback.yml", "F-drop", rollback_on_failure="restore_services")
    finally:
        host.check_output("rm -rf /backups/rollback/F-drop")
    assert code != 0
    for fragment in ("Rollback F-drop stopped in phase database", "Completed phases: decide.",
                     "started again on the pre-rollback state"):
        assert fragment in out, (fragment, out[-3000:])
    after = snapshot(host)
    assert after["databases"] == before["databases"], "the copy restored ahead was left behind"
    assert after["database"] == before["database"] and after["rows"] == before["rows"]
    assert all(status.startswith("RUNNING") for status in after["programs"].values())
    assert not after["maintenance"] and http_status(host) == 200
    record = state(host, "F-drop")
    assert record["phases"]["database"]["status"] == "failed"
    assert "restore_ahead" not in record["phases"] and "stop" not in record["phases"]
    assert "build_ahead" not in record["phases"] and after["releases"] == before["releases"]
    assert not host.file("/srv/.open-discussions.rollback-F-drop.json").exists
    assert [e["phase"] for e in record["events"] if e["status"] == "reset"] == ["restore_ahead", "build_ahead", "stop"]
    assert "recent-data exists and is not a directory" in record["phases"]["database"]["error"]


def test_a_frontend_build_that_fails_ahead_stops_nothing_and_leaves_nothing_to_clean(host, before):
    # The build ahead (default): the frontend of the release to roll back to fails to build while
    # the bad release still serves. Nothing was stopped; the copy and the scratch database are gone.
    lines, start = audit(host), snapshot(host)
    code, out = run(host, "rollback.yml", "F-build",
                    rollback_app_environment=app_environment(npm_config_script_shell="/bin/false"))
    assert code != 0
    for fragment in ("Rollback F-build stopped in phase build_ahead", "Build the frontend",
                     "Nothing was stopped: the site runs as before"):
        assert fragment in out, (fragment, out[-3000:])
    after = snapshot(host)
    for key in ("database", "rows", "databases", "head", "worktree", "maintenance", "releases"):
        assert after[key] == start[key], (key, after[key], start[key])
    # The same pids: not one program was stopped or restarted.
    assert after["programs"] == start["programs"]
    assert not host.file("/srv/.open-discussions.rollback-F-build.json").exists, "the build ahead's journal was left"
    assert http_status(host) == 200 and http_status(host, "/api/v0/podcasts/") == 200
    assert not host.file(APP + ".rollback-F-build").exists
    record = state(host, "F-build")
    assert record["phases"]["build_ahead"]["status"] == "failed"
    assert "stop" not in record["phases"] and "restore_ahead" not in record["phases"]
    assert "Build the frontend" in record["phases"]["build_ahead"]["error"]
    assert_audited(host, lines, "F-build", "failed", failed_phase="build_ahead")


# --- one rollback through three failures, resumed each time ------------------------------------------
# R1 rebuilds in place, behind the maintenance page (rollback_build_ahead=false): the way without the
# build ahead, whose failures happen while the site is down.

def test_an_npm_build_failure_after_the_restore_keeps_maintenance_and_loses_no_row(host, before):
    lines = audit(host)
    code, out = run(host, "rollback.yml", "R1", rollback_build_ahead=False,
                    rollback_app_environment=app_environment(npm_config_script_shell="/bin/false"), **notice_vars())
    assert code != 0
    for fragment in ("Rollback R1 stopped in phase code", "Build the frontend",
                     "The services stay STOPPED with the maintenance page on", "-e rollback_id=R1"):
        assert fragment in out, (fragment, out[-3000:])
    # Each audience was told at the start, and when the code phase failed (management takes start
    # and end only), by its own channels, from the controller to the receiver.
    got = received()
    mails = [(m["rcpt_tos"][0], m["subject"].split("rollback R1 ")[1]) for m in got["mail"] if "rollback R1 " in m["subject"]]
    assert mails == [("oncall@example.com", "started"), ("support@example.com", "started"), ("cto@example.com", "started"),
                     ("oncall@example.com", "STOPPED in phase code"), ("support@example.com", "STOPPED in phase code")], mails
    failed = [m for m in got["mail"] if m["subject"].endswith("rollback R1 STOPPED in phase code")]
    engineering, support = failed
    assert "Build the frontend" in engineering["body"] and "-e rollback_id=R1" in engineering["body"]
    assert "The site shows the maintenance page" in engineering["body"]
    assert "takes longer than planned" in support["body"]
    posts = [(p["path"], p["json"].get("event") or p["json"]["text"].split("*")[1].split("rollback R1 ")[1])
             for p in got["http"] if p["json"].get("rollback_id") == "R1" or "rollback R1 " in p["json"].get("text", "")]
    assert posts == [("/hooks/engineering", "start"), ("/hooks/product", "started"),
                     ("/hooks/engineering", "failed"), ("/hooks/product", "STOPPED in phase code")], posts
    assert [p["json"]["failed_phase"] for p in got["http"] if p["path"] == "/hooks/engineering" and p["json"]["rollback_id"] == "R1"] == [
        None, "code"]
    for secret in ("oncall@example.com", "support@example.com", "cto@example.com", "/hooks/"):
        assert secret not in out, secret
    record = state(host, "R1")
    assert record["phases"]["database"]["status"] == "completed"
    assert record["phases"]["code"]["status"] == "failed"
    assert host.file(FLAG).exists and http_status(host) == 503
    assert all(not status.startswith("RUNNING") for status in programs(host).values())
    assert_no_row_lost_so_far(host, before, "R1")
    # The failed run is audited with where it stopped, the backup it restored and the rows at stake.
    line = assert_audited(host, lines, "R1", "failed", failed_phase="code",
                          rows_lost=record["phases"]["database"]["details"]["loss_total"])
    assert line["rows_lost"] >= sum(export_manifest(host, "R1")[table] for table in LOSS_TABLES) > 0, line
    assert "Build the frontend" in line["error"], line
    assert line["backup_sha256"] == host.check_output("sha256sum %s", line["backup_file"]).split()[0], line
    assert ("database", "completed") in [(p["phase"], p["status"]) for p in line["phases"]], line


def test_programs_started_by_hand_after_a_failure_are_stopped_again_before_the_resume_goes_on(host, before):
    # R1 stopped in the code phase behind the maintenance page. The operator brings the programs
    # back by hand and takes the page down, then runs the same command again (npm still fails).
    host.check_output("supervisorctl start %s" % " ".join(PROGRAMS))
    host.check_output("rm -f %s" % FLAG)
    assert all(status.startswith(("RUNNING", "STARTING", "BACKOFF")) for status in programs(host).values())
    code, out = run(host, "rollback.yml", "R1", rollback_build_ahead=False,
                    rollback_app_environment=app_environment(npm_config_script_shell="/bin/false"))
    assert code != 0
    for fragment in ("run again although an earlier run of rollback R1 stopped them",
                     "Rollback R1 stopped in phase code", "The services stay STOPPED with the maintenance page on"):
        assert fragment in out, (fragment, out[-3000:])
    record = state(host, "R1")
    # The stop was forgotten, done again, then the code phase ran: in that order.
    events = [(e["phase"], e["status"]) for e in record["events"]]
    again = events.index(("stop", "reset"))
    assert events[again:again + 4] == [("stop", "reset"), ("stop", "started"), ("stop", "completed"),
                                       ("code", "started")], events[again:]
    assert "ran again after an earlier run completed stop" in record["events"][again]["message"]
    assert record["phases"]["database"]["attempts"] == 1 and record["phases"]["code"]["attempts"] == 2
    assert host.file(FLAG).exists and http_status(host) == 503
    assert all(not status.startswith("RUNNING") for status in programs(host).values())
    assert_no_row_lost_so_far(host, before, "R1")


def test_a_poetry_failure_on_resume_does_not_restore_again(host, before):
    restored = psql(host, "SELECT count(*) FROM auth_user")
    # The package index unreachable (a dead proxy) and no cached artifact: v1.4.0 needs praw back.
    environment = app_environment(HTTPS_PROXY="http://127.0.0.1:9", HTTP_PROXY="http://127.0.0.1:9",
                                  POETRY_CACHE_DIR="/tmp/empty-poetry-cache")
    code, out = run(host, "rollback.yml", "R1", rollback_build_ahead=False, rollback_app_environment=environment)
    assert code != 0
    for fragment in ("Phase database of rollback R1 was completed", "Rollback R1 stopped in phase code",
                     "Install the locked backend dependencies with poetry",
                     "The services stay STOPPED with the maintenance page on"):
        assert fragment in out, (fragment, out[-3000:])
    record = state(host, "R1")
    assert record["phases"]["database"]["attempts"] == 1
    assert record["phases"]["code"]["attempts"] == 3 and record["phases"]["code"]["status"] == "failed"
    assert psql(host, "SELECT count(*) FROM auth_user") == restored
    assert host.file(FLAG).exists
    assert_no_row_lost_so_far(host, before, "R1")


def test_a_failing_smoke_url_after_the_restart_is_reported_with_the_site_up(host, before):
    urls = [{"path": url["path"]} for url in stack_vars()["rollback_smoke_urls"]] + [{"path": "/no-such-page/"}]
    code, out = run(host, "rollback.yml", "R1", rollback_build_ahead=False, rollback_smoke_urls=urls)
    assert code != 0
    for fragment in ("Rollback R1 stopped in phase verify", "/no-such-page/",
                     "The services were started again by this rollback and keep running"):
        assert fragment in out, (fragment, out[-3000:])
    record = state(host, "R1")
    assert record["phases"]["start"]["status"] == "completed"
    assert record["phases"]["verify"]["status"] == "failed"
    assert not host.file(FLAG).exists and http_status(host) == 200
    assert all(status.startswith("RUNNING") for status in programs(host).values())


def test_the_resumed_rollback_completes_restored_once_and_loses_no_row(host, before):
    code, out = run(host, "rollback.yml", "R1", rollback_build_ahead=False)
    assert code == 0, out[-3000:]
    record = state(host, "R1")
    assert all(phase["status"] == "completed" for phase in record["phases"].values()), record["phases"]
    assert record["phases"]["database"]["attempts"] == 1
    assert record["phases"]["code"]["attempts"] == 4
    assert record["phases"]["verify"]["attempts"] == 2
    assert psql(host, "SELECT count(*) FROM channels_channel") == "3"
    assert git(host, "rev-parse", "HEAD") == git(host, "rev-parse", "'v1.4.0^{commit}'")
    assert http_status(host, "/c/general/") == 200
    assert_no_row_lost(host, before, "R1")


def test_a_second_run_after_success_changes_nothing(host, before):
    done = snapshot(host)
    # With the stats AWX turns into artifacts: decide and report both publish rollback_id, once.
    proc = subprocess.run(command(host, "rollback.yml", "R1", rollback_build_ahead=False), capture_output=True,
                          text=True, check=False, timeout=1800, env=dict(PLAIN_OUTPUT, ANSIBLE_SHOW_CUSTOM_STATS="1"))
    code, out = proc.returncode, proc.stdout + proc.stderr
    assert code == 0, out[-3000:]
    recap = re.findall(r"^\S+\s+: ok=\d+\s+changed=(\d+)", out, re.M)
    assert recap and all(changed == "0" for changed in recap), out[-2000:]
    assert snapshot(host) == done
    stats = out[out.rindex("CUSTOM STATS"):]
    published = re.findall(r"rollback_id[\"']?:\s*[\"']?([\w.-]+)", stats)
    assert published and set(published) == {"R1"}, stats[:2000]


def test_another_rollback_id_does_not_restore_again_over_the_restored_database(host, before):
    done = snapshot(host)
    code, out = run(host, "rollback.yml", "R9")
    refused(host, done, code, out, "Rollback R1 restored open_discussions at",
            "-e rollback_id=R1", "rollback_allow_repeat_restore=true", "Nothing was stopped")


def test_a_release_a_rollback_marked_bad_is_refused_by_the_deploy_guard(host, before):
    done = snapshot(host)
    bad = state(host, "R1")["phases"]["code"]["details"]["commit_before"]
    assert git(host, "rev-parse", "v1.5.0^{commit}") == bad
    refusal = ("is a release a rollback marked bad", "rollback R1", "open_discussions_pre_rollback_R1",
               "tag rollback/bad/" + bad[:12], "rollback_allow_bad_release_reason")
    # By its tag, and by a short commit id: refused, naming the rollback and the database it wrote.
    for commit in ("v1.5.0", bad[:10]):
        code, out = run(host, "guard_deploy.yml", "R1", rollback_deploy_commit=commit)
        assert code != 0, out[-3000:]
        for fragment in refusal:
            assert fragment in out, (commit, fragment, out[-3000:])
    # The override needs a reason.
    code, out = run(host, "guard_deploy.yml", "R1", rollback_deploy_commit="v1.5.0", rollback_allow_bad_release=True)
    assert code != 0 and "(the reason is required)" in out, out[-3000:]
    code, out = run(host, "guard_deploy.yml", "R1", rollback_deploy_commit="v1.5.0", rollback_allow_bad_release=True,
                    rollback_allow_bad_release_reason="INC-42 fix on top")
    assert code == 0 and "marked bad, allowed: INC-42 fix on top" in out, out[-3000:]
    # The good release, and an unknown name, are told apart.
    code, out = run(host, "guard_deploy.yml", "R1", rollback_deploy_commit="v1.4.0")
    assert code == 0 and "v1.4.0 is not marked bad by a rollback" in out, out[-3000:]
    code, out = run(host, "guard_deploy.yml", "R1", rollback_deploy_commit="no-such-branch")
    assert code != 0 and "fetch it first" in out, out[-3000:]
    assert snapshot(host) == done


# --- the controller killed in the middle, then the same command again -----------------------------

@pytest.fixture(scope="module")
def broken_again(host):
    """The stack broken a second time: a new backup, v1.5.0 deployed again, rows written after it."""
    proc = subprocess.run([ANSIBLE_PLAYBOOK, "-i", INVENTORY, BREAK_APP], capture_output=True, text=True,
                          check=False, timeout=1200)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    assert psql(host, "SELECT to_regclass('channels_channel') IS NULL") == "t"
    return snapshot(host)


@pytest.fixture(scope="module")
def db_login(host):
    """A password login over TCP, as on a database server without peer authentication."""
    secret = "Rb-" + os.urandom(12).hex()
    psql(host, "DROP ROLE IF EXISTS rb_admin", "postgres")
    host.check_output("runuser -u postgres -- psql -q -d postgres -c %s",
                      "CREATE ROLE rb_admin LOGIN SUPERUSER PASSWORD '%s'" % secret)
    check = host.run("PGPASSWORD=%s psql -h 127.0.0.1 -U rb_admin -d postgres -Atc 'SELECT 1'" % secret)
    assert check.stdout.strip() == "1", check.stderr
    return {"login_host": "127.0.0.1", "login_user": "rb_admin", "login_password": secret}


def run_and_kill(host, rollback_id, phase, seconds, log_path, status="started", until=None, **extra):
    """Start the rollback and kill the controller (its whole process group, as a closed terminal
    or a cancelled AWX job does) ``seconds`` after the state file shows ``phase`` at ``status``
    (or ``until()`` holds); wait until what it had started on the host ends. Returns the state file then."""
    with open(log_path, "w", encoding="utf-8") as log:
        rollback = subprocess.Popen(command(host, "rollback.yml", rollback_id, **extra), stdout=log, env=PLAIN_OUTPUT,
                                    stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.time() + 600
        while time.time() < deadline and rollback.poll() is None:
            if until is not None:
                if until():
                    break
            else:
                found = host.file("%s/%s.json" % (STATE_DIR, rollback_id))
                if found.exists and state(host, rollback_id)["phases"].get(phase, {}).get("status") == status:
                    break
            time.sleep(0.2)
        assert rollback.poll() is None, "the rollback ended before its %s phase could be interrupted" % phase
        time.sleep(seconds)
    finally:
        os.killpg(rollback.pid, signal.SIGKILL)
        rollback.wait()
    wait_for_no_leftover(host)
    return state(host, rollback_id)


def test_a_killed_controller_then_the_same_command_resumes_without_restoring_twice(
        host, broken_again, db_login, tmp_path):
    # Killed during the restore ahead (before the stop): the site still serves, nothing live changed.
    interrupted = run_and_kill(host, "R2", "restore_ahead", 1, tmp_path / "killed-ahead.log",
                               rollback_db_login=db_login)
    assert interrupted["phases"]["restore_ahead"]["status"] == "started", interrupted["phases"]
    assert "stop" not in interrupted["phases"]
    now = snapshot(host)
    assert now["database"] == broken_again["database"] and now["rows"] == broken_again["rows"]
    assert now["programs"] == broken_again["programs"] and not now["maintenance"]

    # The same command again, killed between the switch to the release built ahead and the start
    # (as soon as the checkout is the release built ahead): the site shows the maintenance page,
    # stopped. Nothing was written to the state file since the stop's start: the phases while down
    # are carried to the start phase's end.
    first_output = tmp_path / "killed-run.log"
    target = git(host, "rev-parse", "'v1.4.0^{commit}'")

    def switched():
        return host.run("runuser -u od -- git -C %s rev-parse HEAD", APP).stdout.strip() == target

    interrupted = run_and_kill(host, "R2", "code", 0, first_output, until=switched, rollback_db_login=db_login)
    assert interrupted["phases"]["stop"]["status"] == "started", interrupted["phases"]
    assert not {"database", "code", "recover_data", "start"} & set(interrupted["phases"]), interrupted["phases"]
    assert host.file(FLAG).exists, "killed mid-rollback, the site must still show the maintenance page"
    assert all(not status.startswith("RUNNING") for status in programs(host).values())
    # Switched: the checkout is the release built ahead (v1.4.0), the bad one is kept beside it.
    assert git(host, "rev-parse", "HEAD") == git(host, "rev-parse", "'v1.4.0^{commit}'")
    assert host.file(APP + ".replaced-R2").is_directory and not host.file(APP + ".rollback-R2").exists

    # With notices, and a relay password the receiver (no AUTH) refuses: the mail is reported not
    # sent, the webhooks arrive, and neither the password nor an address is in the -vvv output.
    notices = dict(notice_vars(), rollback_mail_username="rollback", rollback_mail_password="relay-Pa55-not-logged")
    code, out = run(host, "rollback.yml", "R2", "-vvv", rollback_db_login=db_login, **notices)
    assert code == 0, out[-3000:]
    assert "NOT SENT" in out and "engineering mail" in out and "support mail" in out
    for leak in ("relay-Pa55-not-logged", "oncall@example.com", "support@example.com", "cto@example.com", "/hooks/"):
        assert leak not in out, leak
    ends = [p["json"]["event"] for p in received()["http"] if p["path"] == "/hooks/engineering"
            and p["json"].get("rollback_id") == "R2"]
    assert ends == ["end"], ends  # the killed run's decide sent no notice (it had none); the resume sends the end
    # The database phase runs again and finds the swap done: not restored twice.
    assert "was already restored by rollback R2" in out
    record = state(host, "R2")
    assert record["phases"]["restore_ahead"]["attempts"] == 2
    assert record["phases"]["database"]["attempts"] == 1 and record["phases"]["database"]["details"]["already_swapped"]
    # Resumed after the switch: not switched (nor built) again.
    assert record["phases"]["code"]["attempts"] == 1 and record["phases"]["build_ahead"]["attempts"] == 1
    assert git(host, "rev-parse", "HEAD") == target
    assert host.run("runuser -u od -- git -C %s.replaced-R2 rev-parse HEAD", APP).stdout.strip() == git(
        host, "rev-parse", "'v1.5.0^{commit}'"), "switched twice: the bad release came back"
    assert all(phase["status"] == "completed" for phase in record["phases"].values())
    assert psql(host, "SELECT count(*) FROM channels_channel") == "3"
    # The dump the killed run left for its verify phase is made by the resume, from the kept database.
    assert record["phases"]["database"]["details"]["dump_deferred"] is True
    dumped = record["phases"]["verify"]["details"]["dump"]
    assert dumped["source"] == "open_discussions_pre_rollback_R2" and dumped["made"] is True
    assert host.file(dumped["dump_file"]).mode == 0o600 and host.file(dumped["dump_file"]).size > 0
    # Killed right after the code phase: the re-import had not started, unless the kill came late.
    assert_no_row_lost(host, broken_again, "R2",
                       reimported_before="Re-import the rows written since the deployment" in first_output.read_text())
    # The programs run the rolled-back code from the paths they always used.
    pid = programs(host)["web"].split("pid ")[1]
    # As the program's user: root in a container without CAP_SYS_PTRACE cannot read another user's cwd.
    assert host.check_output("runuser -u od -- readlink /proc/%s/cwd", pid) == APP
    assert host.check_output("runuser -u od -- tr '\\0' ' ' < /proc/%s/cmdline", pid).startswith(
        APP + "/.venv/bin/python")
    databases = set(snapshot(host)["databases"].split(","))
    assert databases == set(broken_again["databases"].split(",")) | {"open_discussions_pre_rollback_R2"}, \
        "a scratch database of a killed run was left behind: %s" % sorted(databases)

    # The database password: never in the output (-vvv included), nor in a file the run wrote.
    secret = db_login["login_password"]
    for killed in (tmp_path / "killed-ahead.log", first_output):
        assert secret not in killed.read_text()
    assert secret not in out
    assert "********" in out or "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in out
    assert '"login_user": "rb_admin"' in out, "the modules did not connect with rollback_db_login"
    leaks = host.run("grep -rl -- %s %s /backups /var/log /srv/open-discussions /tmp /root" % (secret, STATE_DIR))
    assert leaks.rc == 1 and leaks.stdout == "", leaks.stdout
    assert not host.file("/backups/rollback/R2/.pgpass").exists
