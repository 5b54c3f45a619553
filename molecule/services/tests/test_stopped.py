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
