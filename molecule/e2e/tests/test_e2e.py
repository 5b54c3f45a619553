"""The runbook's final checklist, proved on the rolled-back stack.

Each test fails on the broken stack too: prepare.yml runs this file against the stack right
after the bad deployment and requires every test to fail there. The releases scenario runs it on
the release-directory layout (RB_E2E_LAYOUT=releases, RB_E2E_APP its `current` symlink), the
layouts scenario on another team's shape (RB_E2E_SHAPE=layouts: systemd units with other names,
pip, no frontend, the database on a managed server reached over TLS only).
"""
import datetime
import json
import os
import re
import sys

sys.path.insert(0, os.path.join(os.environ.get("MOLECULE_PROJECT_DIRECTORY", "."), "tests"))
import browser  # noqa: E402  pylint: disable=wrong-import-position,import-error

# The stack's host (its db group); the e2e scenario's notice receiver is another host.
testinfra_hosts = ["ansible://db"]
ROLLBACK_ID = os.environ.get("RB_E2E_ROLLBACK_ID", "E2E1")
STATE = "/var/lib/runbooks-rollback/%s.json" % ROLLBACK_ID
APP = os.environ.get("RB_E2E_APP", "/srv/open-discussions")
LAYOUT = os.environ.get("RB_E2E_LAYOUT", "in_place")
# The releases layout: <deploy_to>/releases/<tag>, APP = <deploy_to>/current.
RELEASES = os.path.join(os.path.dirname(APP), "releases")
LAYOUTS = os.environ.get("RB_E2E_SHAPE", "standard") == "layouts"
if LAYOUTS:
    MANAGER, DB, LOG_DIR = "systemd", "od_prod", "/var/log/od"
    PROGRAMS = {"web": ["gunicorn"], "worker": ["celery-default", "celery-priority"], "beat": ["celerybeat"]}
    SYSTEM = ["nginx", "redis-server"]
    # The managed server, over TLS as the application's role: there is no postgres user on this host.
    DB_CONNINFO = "host=rb-layouts-pg user=od_app dbname=od_prod sslmode=require password=%s" % (
        os.environ.get("RB_DEMO_DB_PASSWORD") or "od-demo-password")
    DUMP_OWNER = "root"
else:
    MANAGER, DB, LOG_DIR = "supervisor", "open_discussions", "/var/log/open-discussions"
    PROGRAMS = {"web": ["web"], "worker": ["celery_worker"], "beat": ["celery_beat"]}
    SYSTEM = ["nginx", "postgresql", "redis"]
    DB_CONNINFO = None
    DUMP_OWNER = "postgres"
WEB = PROGRAMS["web"][0]
ALL_PROGRAMS = PROGRAMS["web"] + PROGRAMS["worker"] + PROGRAMS["beat"]
LOGS = ["%s/%s.log" % (LOG_DIR, name) for name in ALL_PROGRAMS]
TIME_RE = re.compile(r"(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})")


def psql(host, query):
    if DB_CONNINFO:
        return host.check_output("psql -At %s -c %s", DB_CONNINFO, query).strip()
    return host.check_output("runuser -u postgres -- psql -At -d open_discussions -c %s", query).strip()


def programs(host, names):
    """{name: {running, pid, started (epoch s)}} from supervisor or systemd."""
    now = datetime.datetime.now(datetime.timezone.utc).timestamp()
    found = {}
    if MANAGER == "supervisor":
        status = host.run("supervisorctl status").stdout
        for name in names:
            match = re.search(r"^%s\s+(\S+)\s+(?:pid (\d+), uptime (\d+):(\d+):(\d+))?" % re.escape(name), status, re.M)
            running = bool(match) and match.group(1) == "RUNNING"
            found[name] = {"running": running, "pid": match.group(2) if running else None,
                           "started": now - (int(match.group(3)) * 3600 + int(match.group(4)) * 60
                                             + int(match.group(5))) if running else None}
        return found
    for name in names:
        props = dict(line.split("=", 1) for line in host.check_output(
            "systemctl show --timestamp=unix -p ActiveState -p SubState -p MainPID -p ExecMainStartTimestamp %s",
            name).splitlines() if "=" in line)
        running = props.get("ActiveState") == "active" and props.get("SubState") == "running"
        started = props.get("ExecMainStartTimestamp", "").lstrip("@")
        found[name] = {"running": running, "pid": props.get("MainPID") if running else None,
                       "started": float(started) if running and started else None}
    return found


def state(host):
    return json.loads(host.file(STATE).content_string)


def get(host, path):
    """Status and body of a request through nginx."""
    out = host.check_output("curl -s -o /tmp/e2e-body -w '%%{http_code}' http://127.0.0.1%s", path)
    return int(out), host.file("/tmp/e2e-body").content_string


def manage(host, *args):
    return host.check_output("cd %s && runuser -u od -- .venv/bin/python manage.py %s" % (APP, " ".join(args)))


def test_channels_tables_and_their_rows_are_back(host):
    assert psql(host, "SELECT count(*) FROM channels_channel") == "3"
    assert psql(host, "SELECT count(*) FROM channels_post") == "6"
    assert psql(host, "SELECT count(*) FROM channels_comment") == "6"
    assert psql(host, "SELECT count(*) FROM information_schema.columns WHERE "
                      "table_name = 'notifications_notificationsettings' AND column_name = 'channel_id'") == "1"


def test_every_migration_of_the_good_release_is_applied_and_none_of_the_bad(host):
    out = manage(host, "showmigrations")
    assert "[ ]" not in out
    assert re.search(r"^channels\n \[X\] 0001_initial", out, re.M)
    assert "0002_remove_channels" not in out
    assert psql(host, "SELECT count(*) FROM django_migrations WHERE name = '0002_remove_channels'") == "0"


SMOKE = [
    ("/healthz", '"channels"'),
    ("/", "channels"),
    ("/c/general/", "General post 1"),
    ("/api/v0/channels/", "general"),
    ("/api/v0/podcasts/", "Science Friday"),
]


def test_every_smoke_url_answers_through_nginx(host):
    failing = []
    for path, text in SMOKE:
        status, body = get(host, path)
        if status != 200 or text not in body:
            failing.append((path, status, body[:200]))
    assert not failing


def test_search_works_for_every_content_type(host):
    failing = []
    for content_type in ("post", "comment", "podcast", "course"):
        status, body = get(host, "/api/v0/search/?q=&type=%s" % content_type)
        if status != 200 or not json.loads(body).get("results"):
            failing.append((content_type, status, body[:200]))
    assert not failing


def test_rows_written_after_the_deployment_are_back_as_the_report_counted(host):
    before = json.loads(host.file("/var/lib/open-discussions/counts_before.json").content_string)
    assert int(psql(host, "SELECT count(*) FROM auth_user")) == before["users"]
    assert int(psql(host, "SELECT count(*) FROM course_catalog_podcast")) == before["podcasts"]
    loss = state(host)["phases"]["database"]["details"]["loss_counts"]
    assert loss["users"] == int(psql(host, "SELECT count(*) FROM auth_user WHERE username LIKE 'late_%'")) == 3
    assert loss["podcasts"] == int(psql(host, "SELECT count(*) FROM course_catalog_podcast "
                                              "WHERE title LIKE 'Late podcast %'")) == 2
    assert state(host)["phases"]["recover_data"]["details"]["total_skipped"] == 0


def test_the_dump_of_the_state_before_the_rollback_is_private(host):
    dump = host.file("/backups/rollback/%s/%s_pre_rollback.pgc" % (ROLLBACK_ID, DB))
    assert dump.exists and dump.size > 0
    assert dump.mode == 0o600 and dump.user == DUMP_OWNER


def test_the_dump_was_made_after_the_site_reopened_from_the_kept_database_with_every_late_row(host):
    # Not while the site was down: the database phase left it to the verify phase, which dumped
    # the database the swap kept - the state the services stopped on, the late sign-ups in it.
    record = state(host)
    database, verify = record["phases"]["database"], record["phases"]["verify"]
    assert database["details"]["dump_deferred"] is True
    kept = database["details"]["kept_db"]
    assert verify["details"]["dump"]["source"] == kept and verify["details"]["dump"]["made"] is True
    dump = database["details"]["dump_file"]
    reopened = datetime.datetime.strptime(record["phases"]["start"]["ended_at"], "%Y-%m-%dT%H:%M:%SZ")
    made = int(host.check_output("stat -c %%Y %s", dump))
    assert made >= reopened.replace(tzinfo=datetime.timezone.utc).timestamp() - 1
    listed = host.run("runuser -u %s -- pg_restore --data-only --table auth_user -f - %s", DUMP_OWNER, dump)
    assert listed.rc == 0, listed.stderr
    assert len([line for line in listed.stdout.splitlines() if "\tlate_" in line]) == 3


def test_every_program_runs_the_rolled_back_code(host):
    found = programs(host, ALL_PROGRAMS + SYSTEM)
    assert all(program["running"] for program in found.values()), found
    started = datetime.datetime.strptime(state(host)["phases"]["start"]["started_at"], "%Y-%m-%dT%H:%M:%SZ")
    # Every application program was (re)started by the rollback's start phase, after the code rollback.
    for name in ALL_PROGRAMS:
        assert found[name]["started"] >= started.replace(tzinfo=datetime.timezone.utc).timestamp() - 5, (name, found)


def test_no_error_line_in_the_logs_since_the_services_started_again(host):
    started = state(host)["phases"]["start"]["started_at"].replace("T", " ").rstrip("Z")
    errors = []
    for log in LOGS:
        current = None
        for line in host.file(log).content_string.splitlines():
            match = TIME_RE.search(line)
            if match:
                current = match.group(1) + " " + match.group(2)
            if "ERROR" in line and current is not None and current >= started:
                errors.append("%s: %s" % (log, line))
    assert not errors, errors[:5]


def test_the_incident_report_has_the_timeline_of_this_run(host):
    report = host.file("/var/lib/runbooks-rollback/%s-report/incident_report.md" % ROLLBACK_ID)
    assert report.exists and report.mode == 0o600
    text = report.content_string
    record = state(host)
    assert record["order"] == ["decide", "restore_ahead", "build_ahead", "stop", "database", "code", "recover_data",
                               "start", "verify", "search", "monitor"]
    for name in record["order"]:
        phase = record["phases"][name]
        assert phase["status"] == "completed" and phase["attempts"] == 1, (name, phase)
        assert "| %s | %s | %s |" % (name, phase["started_at"], phase["ended_at"]) in text
    assert "- Rows written since the deployment (lost by the restore without re-import): 5" in text
    assert "- [x] Exported data re-imported without conflicts" in text
    assert "- [x] Search index rebuilt, search works for every content type" in text
    assert "- Backup's migrations against the target code (checked before the stop): match," in text
    assert "- Celery queues before the workers started (purge_unknown): " in text
    assert "(notifications.tasks.send_frontpage_digest)" in text


def last_stops(host):
    """The rank of each program's last stop: supervisord's log, or systemd's monotonic clock."""
    if MANAGER == "supervisor":
        log = host.file("/var/log/supervisor/supervisord.log").content_string.splitlines()
        return {name: max(n for n, line in enumerate(log) if "stopped: %s " % name in line) for name in ALL_PROGRAMS}
    return {name: int(host.check_output("systemctl show -p InactiveEnterTimestampMonotonic --value %s", name))
            for name in ALL_PROGRAMS}


def test_the_workers_stopped_before_the_web_program_while_the_site_still_served(host):
    # Beat, then the workers (in their order), then (behind the maintenance page) web: the last stop
    # of each, which is the rollback's.
    last = last_stops(host)
    order = PROGRAMS["beat"] + PROGRAMS["worker"] + PROGRAMS["web"]
    assert [last[name] for name in order] == sorted(last[name] for name in order), last


def test_while_down_nothing_was_written_and_the_phases_were_carried_to_one_write(host):
    # rollback.yml (molecule skips only its notest tags) carries the end of stop, the starts and ends
    # of database, code and recover_data and the start of the start phase to the start phase's end,
    # once the site serves again: one write, so these events are adjacent, in the order the phases
    # ran, with the times they happened (not the time of the write).
    events = [(e["phase"], e["status"], e["at"]) for e in state(host)["events"]]
    chain = [("stop", "completed"), ("database", "started"), ("database", "completed"), ("code", "started"),
             ("code", "completed"), ("recover_data", "started"), ("recover_data", "completed"),
             ("start", "started"), ("start", "completed")]
    first = [i for i, event in enumerate(events) if event[:2] == chain[0]]
    assert len(first) == 1, events
    written = events[first[0]:first[0] + len(chain)]
    assert [event[:2] for event in written] == chain, written
    times = [event[2] for event in written]
    assert times == sorted(times), written
    record = state(host)["phases"]
    assert record["code"]["started_at"] >= record["database"]["ended_at"]
    assert record["start"]["started_at"] >= record["recover_data"]["ended_at"]


def test_the_incident_report_quotes_the_runbooks_symptoms(host):
    text = host.file("/var/lib/runbooks-rollback/%s-report/incident_report.md" % ROLLBACK_ID).content_string
    assert "scenario 1 critical: immediate rollback" in text
    assert "- Symptoms (the runbook's words):\n" in text
    assert ("  - Application won't start (scenario 1; site_down taken as the runbook's symptom "
            "\"Application won't start\" (app_wont_start, scenario 1))\n") in text
    assert "  - UI glitches (scenario 3)\n" in text
    assert "Symptoms: Application won't start (scenario 1); UI glitches (scenario 3)." in text


def test_the_rollback_is_in_the_audit_log_with_what_it_did(host):
    log = host.file("/var/lib/runbooks-rollback/audit.jsonl")
    assert log.mode == 0o600 and log.user == "root"
    lines = [json.loads(line) for line in log.content_string.splitlines()]
    line = [entry for entry in lines if entry["rollback_id"] == ROLLBACK_ID][-1]
    record = state(host)
    assert line["outcome"] == "completed" and line["failed_phase"] is None and line["check_mode"] is False
    assert line["who"] and line["environment"] == "demo"
    assert [p["phase"] for p in line["phases"]] == record["order"]
    assert all(p["status"] == "completed" for p in line["phases"])
    good = host.check_output("runuser -u od -- git -C %s rev-parse 'v1.4.0^{commit}'" % APP)
    assert line["to_commit"] == good and line["from_commit"] == record["phases"]["code"]["details"]["commit_before"] != good
    backup = record["phases"]["database"]["details"]["backup_file"]
    assert line["backup_file"] == backup
    assert line["backup_sha256"] == host.check_output("sha256sum %s", backup).split()[0]
    # 3 users and 2 podcasts written after the deployment (prepare.yml), lost by the restore, re-imported.
    assert line["rows_lost"] == record["phases"]["database"]["details"]["loss_total"] >= 5
    assert line["rows_reimported"] == record["phases"]["recover_data"]["details"]["total_inserted"] >= 5
    assert line["rows_conflicting"] == 0
    assert line["decision"]["rollback_allowed"] is True and line["scope"] == "full"


def test_the_release_rolled_back_from_is_marked_bad_in_the_checkout_the_repository_and_the_state(host):
    bad = host.check_output("runuser -u od -- git -C %s rev-parse 'v1.5.0^{commit}'" % APP)
    assert state(host)["phases"]["code"]["details"]["commit_before"] == bad
    tag = "rollback/bad/" + bad[:12]
    # An annotated tag in the checkout, saying which rollback and which database state...
    assert host.check_output("runuser -u od -- git -C %s rev-parse '%s^{commit}'" % (APP, tag)) == bad
    message = host.check_output("runuser -u od -- git -C %s tag -l --format='%%(contents)' %s" % (APP, tag))
    assert "rollback %s" % ROLLBACK_ID in message and "%s_pre_rollback_%s" % (DB, ROLLBACK_ID) in message
    # ... pushed to the repository the deployments come from ...
    assert host.check_output("runuser -u od -- git -C /srv/git/open-discussions.git rev-parse '%s^{commit}'" % tag) == bad
    # ... and one line in the state directory.
    record = host.file("/var/lib/runbooks-rollback/bad_releases.jsonl")
    assert record.mode == 0o600
    lines = [json.loads(line) for line in record.content_string.splitlines()]
    assert [line["commit"] for line in lines] == [bad]
    assert lines[0]["rollback_id"] == ROLLBACK_ID and lines[0]["kept_db"] == DB + "_pre_rollback_" + ROLLBACK_ID
    assert lines[0]["backup_file"] == state(host)["phases"]["database"]["details"]["backup_file"]
    assert state(host)["phases"]["verify"]["details"]["bad_release"] == bad


def test_the_checkout_is_at_the_good_release(host):
    head = host.check_output("runuser -u od -- git -C %s rev-parse HEAD" % APP)
    good = host.check_output("runuser -u od -- git -C %s rev-parse 'v1.4.0^{commit}'" % APP)
    assert head == good
    if LAYOUT == "releases":
        # current points at the release of v1.4.0 again, as its REVISION says.
        assert host.file(APP).is_symlink and host.file(APP).linked_to == RELEASES + "/v1.4.0"
        assert host.file(APP + "/REVISION").content_string.strip() == good
    else:
        assert host.check_output("runuser -u od -- git -C %s rev-parse --abbrev-ref HEAD" % APP) == \
            "rollback/%s" % ROLLBACK_ID


def test_the_good_release_was_built_ahead_and_only_switched_to_while_down(host):
    record = state(host)
    ahead, code = record["phases"]["build_ahead"], record["phases"]["code"]
    # Built while the bad release still served, switched to behind the maintenance page.
    assert ahead["status"] == "completed" and ahead["ended_at"] <= record["phases"]["stop"]["started_at"]
    assert code["details"]["built_ahead"] is True
    # The copy restored ahead was migrated with the release before the stop; the start applied nothing.
    assert ahead["details"]["migrated_db"] == record["phases"]["restore_ahead"]["details"]["scratch_db"] != ""
    assert record["phases"]["start"]["details"]["migrated_ahead"] is True
    if LAYOUT == "releases":
        # The release of v1.4.0 was found by its commit and reused (rebuilt and checked), not copied.
        assert ahead["details"]["layout"] == "releases" and ahead["details"]["reused"] is True
        assert ahead["details"]["release"] == code["details"]["switched_to"] == RELEASES + "/v1.4.0"
        assert code["details"]["replaced"] == RELEASES + "/v1.5.0"
        assert sorted(host.file(RELEASES).listdir()) == ["v1.4.0", "v1.5.0"]
        kept, running = RELEASES + "/v1.5.0", RELEASES + "/v1.4.0"
    else:
        assert ahead["details"]["layout"] == "in_place"
        assert ahead["details"]["release"] == code["details"]["switched_to"] == APP + ".rollback-" + ROLLBACK_ID
        assert code["details"]["replaced"] == APP + ".replaced-" + ROLLBACK_ID
        assert not host.file(APP + ".rollback-" + ROLLBACK_ID).exists
        kept, running = APP + ".replaced-" + ROLLBACK_ID, APP
        # The virtualenv the programs run names the checkout's path only, not the copy's it was built in
        # (compiled .pyc files keep it, and Python corrects it on import: _imp._fix_co_filename).
        leftover = host.run("grep -rl --exclude=*.pyc -- %s.rollback- %s/.venv" % (APP, APP))
        assert leftover.rc == 1 and leftover.stdout == "", leftover.stdout
    # The release replaced is the bad one, kept beside the live one.
    assert host.check_output("runuser -u od -- git -C %s rev-parse HEAD" % kept) == code["details"]["commit_before"]
    assert code["details"]["commit_before"] != code["details"]["commit_after"]
    pid = programs(host, [WEB])[WEB]["pid"]
    # As the program's user: root in a container without CAP_SYS_PTRACE cannot read another user's cwd.
    assert host.check_output("runuser -u od -- readlink /proc/%s/cwd", pid) == running


def test_the_virtualenv_holds_the_good_releases_backend(host):
    # v1.5.0 dropped praw. poetry (install --sync) removes it from the virtualenv; pip -r does not
    # remove, so with pip (the layouts shape) every pin of the checkout's requirements.txt - v1.4.0's
    # pins praw - must be what the virtualenv the programs run holds.
    imported = host.run("runuser -u od -- %s/.venv/bin/python -c 'import praw'", APP)
    assert imported.rc == 0, imported.stderr
    if LAYOUTS:
        def canonical(line):  # pip freeze writes prompt_toolkit for prompt-toolkit==...
            name, version = (line.strip().lower().split("==", 1) + [""])[:2]
            return re.sub(r"[-_.]+", "-", name) + "==" + version
        pins = [canonical(line) for line in host.file(APP + "/requirements.txt").content_string.splitlines()
                if line.strip() and not line.startswith("#")]
        assert any(pin.startswith("praw==") for pin in pins), pins
        installed = {canonical(line) for line in host.check_output(
            "runuser -u od -- %s/.venv/bin/pip freeze --disable-pip-version-check", APP).splitlines()}
        assert set(pins) <= installed, sorted(set(pins) - installed)
        assert not host.file(APP + "/.venv/bin/poetry").exists


def test_the_frontend_of_the_good_release_is_built_and_served(host):
    frontend = APP + "/frontends/open-discussions"
    if LAYOUTS:
        # rollback_build_frontend false: nothing was installed or built, the checkout is v1.4.0's.
        assert not host.file(frontend + "/node_modules").exists and not host.file(frontend + "/dist").exists
        assert '"channels"' in host.file(frontend + "/src/features.js").content_string
        return
    bundle = host.file("%s/frontends/open-discussions/dist/bundle.js" % APP)
    assert bundle.exists and "open-discussions 1.4.0" in bundle.content_string
    status, body = get(host, "/static/bundle.js")
    assert status == 200 and '"channels"' in body


FRONTPAGE_TASK = "notifications.tasks.send_frontpage_digest"


def redis_messages(host):
    """Every message in redis the workers could still run: the celery list and kombu's unacked hash."""
    queued = host.check_output("redis-cli --raw LRANGE celery 0 -1")
    unacked = host.check_output("redis-cli --raw HVALS unacked")
    return queued + "\n" + unacked


def test_the_bad_releases_queued_tasks_were_saved_then_removed_before_the_old_workers_started(host):
    # The bad release's beat queued send_frontpage_digest to run in an hour: messages the worker of
    # v1.4.0 does not know. They were saved (0600), then removed before the workers started.
    saved = host.file("/backups/rollback/%s/celery_removed.jsonl" % ROLLBACK_ID)
    assert saved.exists and saved.mode == 0o600 and saved.user == "root"
    lines = [json.loads(line) for line in saved.content_string.splitlines()]
    assert lines, "no message was saved"
    assert {line["task"] for line in lines} == {FRONTPAGE_TASK}
    assert all(FRONTPAGE_TASK in line["raw"] for line in lines)
    celery = state(host)["phases"]["start"]["details"]["celery"]
    assert celery["policy"] == "purge_unknown" and celery["unknown_tasks"] == [FRONTPAGE_TASK]
    assert int(celery["removed"]) == len(lines) == int(celery["unknown_total"])
    # None is left in the broker, and the old worker never received one.
    assert FRONTPAGE_TASK not in redis_messages(host)
    for worker in PROGRAMS["worker"]:
        worker_log = host.file("%s/%s.log" % (LOG_DIR, worker)).content_string
        assert "Received unregistered task of type '%s'" % FRONTPAGE_TASK not in worker_log


def test_the_backups_migrations_were_checked_against_the_good_release_before_the_stop(host):
    decided = state(host)["phases"]["decide"]
    migrations = decided["details"]["migrations"]
    good = host.check_output("runuser -u od -- git -C %s rev-parse 'v1.4.0^{commit}'" % APP)
    assert migrations["ok"] is True and migrations["target_commit"] == good
    assert migrations["unknown_to_target"] == [] and migrations["not_additive"] == []
    # The pre-deployment backup has every migration of v1.4.0: migrate applies none.
    assert migrations["to_apply"] == []
    assert migrations["applied_count"] == int(psql(host, "SELECT count(*) FROM django_migrations"))
    assert decided["ended_at"] <= state(host)["phases"]["stop"]["started_at"]


REPORT_DIR = "/var/lib/runbooks-rollback/%s-report" % ROLLBACK_ID
ARTIFACTS = os.path.join(os.environ.get("RB_WORK") or os.path.join(os.environ.get("MOLECULE_PROJECT_DIRECTORY", "."), ".work"),
                         "artifacts", os.environ.get("MOLECULE_SCENARIO_NAME", "e2e"))


def test_the_incident_report_has_the_runbooks_sections_in_order(host):
    text = host.file("%s/incident_report.md" % REPORT_DIR).content_string
    sections = re.findall(r"^## (.+)$", text, re.M)
    assert sections == ["Summary", "Timeline", "Impact", "Root cause", "Resolution", "Verification (what the run proved)",
                        "Lessons learned", "Action items", "Final rollback checklist"], sections
    record = state(host)
    deployed = record["phases"]["decide"]["details"]["deployed_at"]
    for line in ("- %s - Deployment started (%s)" % (deployed[11:16], deployed),
                 "- %s - Rollback initiated (%s)" % (record["phases"]["decide"]["started_at"][11:16],
                                                     record["phases"]["decide"]["started_at"]),
                 "- %s - Service restored (%s)" % (record["phases"]["start"]["ended_at"][11:16],
                                                   record["phases"]["start"]["ended_at"])):
        assert line in text, line
    assert re.search(r"^- \d\d:\d\d - Issues detected \(\d{4}-\d\d-\d\dT", text, re.M)
    assert "- [ ] Fix issue that caused rollback\n- [ ] Improve testing\n- [ ] Update rollback procedures\n" in text
    assert "- [x] Stakeholders notified at the start (4 audiences)" in text
    status = host.file("%s/status_page.md" % REPORT_DIR).content_string
    assert status.startswith("[RESOLVED] System Maintenance\n\nWe have restored normal operations")


def test_the_users_affected_are_the_stacks_sessions_and_nobody_lost_data(host):
    # Counted by Django itself before the rollback (break_app.yml's count_sessions): alice's, bob's and
    # an anonymous visitor's sessions, and one per user created after the deployment.
    before = json.loads(host.file("/var/lib/open-discussions/sessions_before.json").content_string)
    assert before["active"] > before["users"] > 0
    text = host.file("%s/incident_report.md" % REPORT_DIR).content_string
    assert "- Users affected: %d active sessions at the decision (%d logged-in users)" % (
        before["active"], before["users"]) in text
    decided = state(host)["phases"]["decide"]["details"]["sessions"]
    assert (decided["active"], decided["users"]) == (before["active"], before["users"])
    # Every late row was re-imported: nobody lost data, and the file of the user notice says so.
    assert "- Users whose data was lost: 0 (0 rows still lost after the re-import)" in text
    export_dir = state(host)["phases"]["database"]["details"]["export_dir"]
    users = host.file(os.path.dirname(export_dir) + "/affected_users.json")
    assert users.mode == 0o600
    assert json.loads(users.content_string)["users"] == []
    assert not host.file("%s/user_notice.md" % REPORT_DIR).exists
    watch = state(host)["phases"]["monitor"]["details"]["sessions"]
    assert watch["exists"] and watch["trend"] in ("rising", "steady", "falling") and len(watch["samples"]) >= 2
    assert "- Sessions during the watch: %s -> %s (%s;" % (watch["first"], watch["last"], watch["trend"]) in text


def test_the_html_report_opens_in_headless_chromium(host):
    page = host.file("%s/incident_report.html" % REPORT_DIR)
    assert page.mode == 0o600
    os.makedirs(ARTIFACTS, exist_ok=True)
    html_path = os.path.join(ARTIFACTS, "incident_report.html")
    with open(html_path, "w", encoding="utf-8") as out:
        out.write(page.content_string)
    dom = browser.dump_dom(html_path)
    record = state(host)
    assert 'id="timeline-chart"' in dom and 'class="downtime"' in dom
    assert len(re.findall(r'<rect class="bar completed', dom)) == len(record["order"])
    for section in ("summary", "timeline", "impact", "action-items", "final-rollback-checklist"):
        assert 'id="%s"' % section in dom, section
    png = browser.screenshot(html_path, os.path.join(ARTIFACTS, "incident_report.png"))
    assert browser.png_size(png) == (1280, 2400)
    assert not browser.png_is_blank(png)
