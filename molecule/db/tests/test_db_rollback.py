"""After db_rollback + data_recovery: pre-deployment schema back, no row lost."""
import json


def psql(host, db, query):
    return host.check_output("runuser -u postgres -- psql -At -d %s -c %s", db, query).strip()


def test_channels_tables_are_back_with_their_rows(host):
    assert psql(host, "open_discussions", "SELECT count(*) FROM channels_channel") == "5"


def test_the_bad_migration_row_is_gone(host):
    assert psql(host, "open_discussions", "SELECT count(*) FROM django_migrations WHERE app = 'cleanup'") == "0"


def test_no_row_written_since_the_deployment_is_lost(host):
    before = json.loads(host.file("/tmp/counts_before.json").content_string)
    # + the user who signed up between the two runs of the rollback
    assert int(psql(host, "open_discussions", "SELECT count(*) FROM auth_user")) == before["users"] + 1
    assert int(psql(host, "open_discussions", "SELECT count(*) FROM course_catalog_podcast")) == before["podcasts"]
    assert psql(host, "open_discussions", "SELECT string_agg(username, ',' ORDER BY id) FROM auth_user WHERE id > 20") \
        == "late1,late2,late3,after_rollback"


def test_the_second_run_did_not_restore_over_newer_data(host):
    assert psql(host, "open_discussions", "SELECT count(*) FROM auth_user WHERE username = 'after_rollback'") == "1"


def test_sequences_allow_new_rows(host):
    out = psql(host, "open_discussions",
               "BEGIN; INSERT INTO auth_user (username, date_joined) VALUES ('probe', now()) RETURNING id; ROLLBACK")
    assert out.splitlines()[1] == "25"


def test_previous_database_is_kept_and_scratch_is_gone(host):
    names = psql(host, "postgres", "SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database "
                                   "WHERE datname LIKE 'open_discussions%'")
    assert names == "open_discussions,open_discussions_pre_rollback_20261124T1100"
    assert psql(host, "open_discussions_pre_rollback_20261124T1100",
                "SELECT to_regclass('channels_channel') IS NULL") == "t"


def test_restored_database_is_owned_by_the_application_role(host):
    assert psql(host, "postgres", "SELECT pg_get_userbyid(datdba) FROM pg_database "
                                  "WHERE datname = 'open_discussions'") == "od_app"


def test_dump_of_the_state_before_the_rollback_is_private(host):
    dump = host.file("/backups/rollback/20261124T1100/open_discussions_pre_rollback.pgc")
    assert dump.exists and dump.size > 0
    assert dump.mode == 0o600 and dump.user == "postgres"
    assert host.file("/backups/rollback/20261124T1100").mode == 0o700
    assert host.run("runuser -u postgres -- pg_restore --list %s", dump.path).rc == 0


def test_exported_rows_are_private(host):
    export = "/backups/rollback/20261124T1100/recent-data"
    for name in host.file(export).listdir():
        assert host.file(export + "/" + name).mode == 0o600, name


def test_services_are_back_and_maintenance_is_off(host):
    for program in ("web", "celery_worker", "celery_beat", "nginx"):
        assert " RUNNING " in host.check_output("supervisorctl status %s", program), program
    assert not host.file("/var/www/maintenance/on").exists
    assert host.check_output("curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1/") == "200"


def _state(host):
    import json
    return json.loads(host.file("/var/lib/runbooks-rollback/20261124T1100.json").content_string)


def test_every_phase_is_recorded_once_and_the_second_run_skipped_them(host):
    state = _state(host)
    assert state["order"] == ["decide", "restore_ahead", "stop", "database", "recover_data", "start", "verify"]
    for name in state["order"]:
        phase = state["phases"][name]
        assert phase["status"] == "completed", (name, phase)
        assert phase["attempts"] == 1, (name, phase)
        assert phase["started_at"] <= phase["ended_at"]
    assert state["phases"]["database"]["details"]["loss_counts"] == {"users": 3, "podcasts": 2}
    # Restored before the stop; the database phase swapped that copy in without restoring again.
    assert state["phases"]["restore_ahead"]["details"]["prepared"] is True
    assert state["phases"]["database"]["details"]["restored_ahead"] is True
    assert state["phases"]["restore_ahead"]["ended_at"] <= state["phases"]["stop"]["started_at"]
    assert state["phases"]["recover_data"]["details"]["total_inserted"] == 5
    state_file = host.file("/var/lib/runbooks-rollback/20261124T1100.json")
    assert state_file.mode == 0o600 and host.file("/var/lib/runbooks-rollback").mode == 0o700


def test_the_incident_report_has_the_timeline_and_the_checklist(host):
    report = host.file("/var/lib/runbooks-rollback/20261124T1100-report/incident_report.md")
    assert report.exists and report.mode == 0o600
    text = report.content_string
    state = _state(host)
    for name in state["order"]:
        phase = state["phases"][name]
        assert "| %s | %s | %s |" % (name, phase["started_at"], phase["ended_at"]) in text
    assert "- Rows written since the deployment (lost by the restore without re-import): 5" in text
    assert "- [x] Database restored and verified by its tables, previous one kept" in text
    assert "- [-] Code at the last good commit" in text and "(not part of this rollback)" in text
    assert "- [ ] Post-mortem scheduled" in text
