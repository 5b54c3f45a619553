"""The production host after converge: real services, reachable, safe modes."""
import pytest


@pytest.mark.parametrize("program", ["postgresql", "redis", "nginx"])
def test_system_program_running_under_supervisor(host, program):
    out = host.check_output("supervisorctl status %s", program)
    assert " RUNNING " in out, out


def test_nginx_answers_on_port_80(host):
    assert host.socket("tcp://0.0.0.0:80").is_listening
    body = host.check_output("curl -fsS http://127.0.0.1/nginx-health")
    assert body.strip() == "ok"


def test_nginx_proxies_to_the_application_port(host):
    # Nothing listens on the app port yet: nginx must answer 502 from the proxy,
    # which proves the application site (not the image's placeholder) is active.
    code = host.check_output("curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1/")
    assert code == "502"


def test_application_database_exists_and_is_owned_by_the_app_role(host):
    out = host.check_output(
        "runuser -u postgres -- psql -Atc "
        "\"SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'open_discussions'\"")
    assert out.strip() == "od_app"


def test_backup_directory_is_private_to_postgres(host):
    d = host.file("/backups/postgresql")
    assert d.is_directory
    assert d.user == "postgres"
    assert d.mode == 0o700


def test_redis_answers(host):
    assert host.check_output("redis-cli ping").strip() == "PONG"
