"""The db host: database restored, rows re-imported, state and report kept here."""
import json

testinfra_hosts = ["ansible://rb-mn-db"]


def psql(host, query):
    return host.check_output("runuser -u postgres -- psql -At -d open_discussions -c %s", query).strip()


def test_channels_are_back_and_no_row_is_lost(host):
    assert psql(host, "SELECT count(*) FROM channels_channel") == "3"
    before = json.loads(host.file("/var/lib/open-discussions/counts_before.json").content_string)
    assert int(psql(host, "SELECT count(*) FROM auth_user")) == before["users"]
    assert int(psql(host, "SELECT count(*) FROM course_catalog_podcast")) == before["podcasts"]


def test_the_phases_ran_once_each_in_the_runbooks_order(host):
    state = json.loads(host.file("/var/lib/runbooks-rollback/MN1.json").content_string)
    assert state["order"] == ["decide", "restore_ahead", "build_ahead", "stop", "database", "code", "recover_data",
                              "start", "verify", "search", "monitor"]
    assert all(phase["status"] == "completed" and phase["attempts"] == 1 for phase in state["phases"].values())
    assert sorted(state["phases"]["code"]["details"]["hosts"]) == ["rb-mn-app", "rb-mn-worker"]
    # Built ahead on both code hosts, then only switched while the site was down.
    assert sorted(state["phases"]["build_ahead"]["details"]["hosts"]) == ["rb-mn-app", "rb-mn-worker"]
    assert state["phases"]["code"]["details"]["built_ahead"] is True
    assert host.file("/var/lib/runbooks-rollback/MN1-report/incident_report.md").mode == 0o600


def test_the_database_work_happened_here_only(host):
    assert host.file("/backups/rollback/MN1/open_discussions_pre_rollback.pgc").mode == 0o600
    assert psql(host, "SELECT count(*) FROM pg_database WHERE datname = 'open_discussions_pre_rollback_MN1'") == "1"
