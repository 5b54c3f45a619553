"""The app host: web runs the good release; no celery here; no database work here."""
testinfra_hosts = ["ansible://rb-mn-app"]


def test_web_runs_the_good_release(host):
    status = host.check_output("supervisorctl status")
    assert "web" in status and "RUNNING" in status.split("web", 1)[1].splitlines()[0]
    assert "celery_worker" not in status and "celery_beat" not in status
    head = host.check_output("runuser -u od -- git -C /srv/open-discussions rev-parse HEAD")
    assert head == host.check_output("runuser -u od -- git -C /srv/open-discussions rev-parse 'v1.4.0^{commit}'")


def test_no_rollback_work_files_on_the_app_host(host):
    assert not host.file("/backups/rollback/MN1").exists
    assert not host.file("/var/lib/runbooks-rollback/MN1.json").exists
