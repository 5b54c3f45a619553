"""After the stop phase: programs stopped in order, maintenance page served."""
import pytest


@pytest.mark.parametrize("program", ["web", "celery_worker", "celery_beat"])
def test_application_program_is_stopped(host, program):
    out = host.run("supervisorctl status %s", program).stdout
    assert " STOPPED " in out, out


def test_system_programs_still_run(host):
    for program in ("postgresql", "redis", "nginx"):
        assert " RUNNING " in host.check_output("supervisorctl status %s", program)


def test_site_answers_503_with_the_maintenance_page(host):
    code = host.check_output("curl -s -o /tmp/body -w '%{http_code}' http://127.0.0.1/")
    assert code == "503"
    assert "Down for maintenance" in host.file("/tmp/body").content_string


def test_health_endpoint_of_nginx_still_answers(host):
    assert host.check_output("curl -fsS http://127.0.0.1/nginx-health").strip() == "ok"


def test_celery_beat_was_stopped_before_the_worker(host):
    """The stop phase stops in the order given: beat first, so it queues nothing for a stopped worker."""
    log = host.file("/var/log/supervisor/supervisord.log").content_string.splitlines()
    beat = [n for n, line in enumerate(log) if "stopped: celery_beat " in line]
    worker = [n for n, line in enumerate(log) if "stopped: celery_worker " in line]
    assert beat and worker, log[-20:]
    assert beat[-1] < worker[-1], log[-20:]
