"""After the stop phase under systemd: the units are stopped, beat before the worker, and systemd runs."""
import pytest


@pytest.mark.parametrize("unit", ["gunicorn", "celery-default", "celerybeat"])
def test_application_unit_is_stopped(host, unit):
    state = host.run("systemctl is-active %s", unit).stdout.strip()
    assert state == "inactive", state


def test_units_were_stopped_in_order(host):
    """celerybeat takes a second to stop: the worker stopped after it only if the stop waited for it."""
    order = host.file("/var/log/rb-units/stopped").content_string.split()
    assert order == ["celerybeat", "celery-default", "gunicorn"], order


def test_systemd_is_pid_1_and_the_host_is_up(host):
    assert host.check_output("ps -o comm= -p 1").strip() == "systemd"
    assert host.run("systemctl is-system-running").stdout.strip() in ("running", "degraded")


def test_the_other_services_still_run(host):
    for unit in ("nginx", "redis-server"):
        assert host.run("systemctl is-active %s", unit).stdout.strip() == "active", unit
