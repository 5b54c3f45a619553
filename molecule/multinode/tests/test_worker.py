"""The worker host: celery worker and beat run the good release; no web here."""
testinfra_hosts = ["ansible://rb-mn-worker"]


def test_celery_runs_the_good_release(host):
    status = host.check_output("supervisorctl status")
    for program in ("celery_worker", "celery_beat"):
        line = [entry for entry in status.splitlines() if entry.startswith(program + " ")]
        assert line and "RUNNING" in line[0], status
    assert "\nweb " not in "\n" + status
    head = host.check_output("runuser -u od -- git -C /srv/open-discussions rev-parse HEAD")
    assert head == host.check_output("runuser -u od -- git -C /srv/open-discussions rev-parse 'v1.4.0^{commit}'")
