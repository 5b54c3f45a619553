"""module_utils.systemd: systemctl show parsing, unknown units, the waits and the failure messages.

A stand-in for ``AnsibleModule.run_command`` answers each systemctl/journalctl call from a script
and a fake clock moves on at each sleep, so the logic is tested without processes or waiting; the
molecule scenario ``services_systemd`` runs it against a real systemd (PID 1).
"""
from __future__ import annotations

import pytest

from ansible_collections.runbooks.rollback.plugins.module_utils import systemd as sd


def block(unit, active="inactive", sub="dead", load="loaded", job="", pid="0", restarts="0", entered="0",
          result="success", status="0"):
    return ("Id=%s\nLoadState=%s\nActiveState=%s\nSubState=%s\nResult=%s\nJob=%s\nMainPID=%s\nNRestarts=%s\n"
            "InvocationID=abc\nExecMainStatus=%s\nActiveEnterTimestampMonotonic=%s\n"
            % (unit, load, active, sub, result, job, pid, restarts, status, entered))


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


class FakeSystemd:
    """Answers as ``AnsibleModule.run_command``: ``shows`` is a list of functions (clock -> {unit: kwargs
    of block}), one per successive ``systemctl show`` (the last repeats)."""

    def __init__(self, shows, clock, journal="", unit_files=""):
        self.shows = shows
        self.clock = clock
        self.journal = journal
        self.unit_files = unit_files
        self.calls = []

    def __call__(self, argv):
        self.calls.append(list(argv))
        if argv[0] == "/usr/bin/journalctl":
            return 0, self.journal, ""
        if argv[1] == "show":
            units = argv[argv.index("--") + 1:]
            answer = self.shows.pop(0) if len(self.shows) > 1 else self.shows[0]
            states = answer(self.clock)
            return 0, "\n".join(block(u, **states.get(u, {"load": "not-found"})) for u in units), ""
        if argv[1] in ("list-units", "list-unit-files"):
            return 0, self.unit_files, ""
        raise AssertionError(argv)


def backend(fake, tmp_path=None):
    dirs = (str(tmp_path),) if tmp_path else ("/nonexistent",)
    return sd.Systemd(fake, "/usr/bin/systemctl", "/usr/bin/journalctl", None, unit_dirs=dirs)


def run(fake, names, state, clock, **kw):
    kw.setdefault("timeout", 10)
    kw.setdefault("settle", 2.0)
    return sd.read_and_wait(backend(fake, kw.pop("tmp_path", None)), names, state, clock=clock, sleep=clock.sleep,
                            **kw)


def test_names_without_a_unit_type_are_services():
    assert sd.unit_name("web") == "web.service"
    assert sd.unit_name("web.service") == "web.service"
    assert sd.unit_name("celery.socket") == "celery.socket"


def test_show_output_gives_one_block_per_unit_in_order():
    text = block("a.service", active="active", sub="running") + "\n" + block("b.service")
    blocks = sd.parse_show(text)
    assert [b["Id"] for b in blocks] == ["a.service", "b.service"]
    assert blocks[0]["ActiveState"] == "active" and blocks[1]["Job"] == ""


@pytest.mark.parametrize("names, timeout, settle, message", [
    ([], 10, 2, "names is empty"),
    (["web", "web.service"], 10, 2, "names lists a unit twice"),
    (["web"], 0, 2, "timeout must be 1 second or more"),
    (["web"], 10, -1, "settle must be 0 seconds or more"),
])
def test_bad_requests_are_refused(names, timeout, settle, message):
    with pytest.raises(sd.SystemdError, match=message):
        sd.check_request(names, timeout, settle)


def test_an_unknown_unit_is_refused_naming_the_units_that_exist(tmp_path):
    for name in ("gunicorn.service", "celery-default.service", "celerybeat.service"):
        (tmp_path / name).write_text("[Service]\n")
    clock = Clock()
    fake = FakeSystemd([lambda c: {"gunicorn.service": {"active": "active"}}], clock,
                       unit_files="gunicorn.service enabled enabled\ncelery-default.service enabled enabled\n"
                                  "celerybeat.service enabled enabled\nnginx.service enabled enabled\n")
    with pytest.raises(sd.SystemdError) as caught:
        run(fake, ["gunicorn", "celery-defualt"], "stopped", clock, tmp_path=tmp_path)
    msg = str(caught.value)
    assert "no unit named celery-defualt.service (LoadState not-found)" in msg
    assert "celery-defualt: did you mean celery-default.service" in msg
    assert "celery-default.service, celerybeat.service, gunicorn.service" in msg


def test_the_read_names_the_units_that_run_and_waits_for_nothing():
    clock = Clock()
    fake = FakeSystemd([lambda c: {"celerybeat.service": {"active": "active", "sub": "running"},
                                   "celery-default.service": {"active": "activating", "sub": "auto-restart"},
                                   "gunicorn.service": {"active": "failed", "result": "exit-code"}}], clock)
    result = run(fake, ["celerybeat", "celery-default.service", "gunicorn"], "stopped", clock, wait=False)
    assert result["acted_on"] == ["celerybeat", "celery-default.service"]
    # Really running: not the unit in auto-restart (a crash loop), which a stop must still act on.
    assert result["running"] == ["celerybeat"]
    assert result["changed"] is False
    assert result["programs"][0] == {"name": "celerybeat", "unit": "celerybeat.service",
                                     "before": "active (running)", "after": "active (running)"}
    assert len(fake.calls) == 1


def test_check_mode_only_reads():
    clock = Clock()
    fake = FakeSystemd([lambda c: {"gunicorn.service": {}}], clock)
    result = run(fake, ["gunicorn"], "started", clock, check_mode=True)
    assert result["acted_on"] == ["gunicorn"] and len(fake.calls) == 1


def test_a_stop_waits_until_the_unit_is_inactive_and_no_job_is_pending():
    clock = Clock()
    fake = FakeSystemd([lambda c: {"gunicorn.service": {"active": "active"}},
                        lambda c: {"gunicorn.service": {"active": "deactivating", "sub": "stop-sigterm", "job": "7"}},
                        lambda c: {"gunicorn.service": {"active": "inactive", "job": "7"}},
                        lambda c: {"gunicorn.service": {"active": "inactive"}}], clock)
    result = run(fake, ["gunicorn"], "stopped", clock)
    assert result["programs"][0]["after"] == "inactive (dead)"
    assert result["running"] == []
    assert len(fake.calls) == 4


def test_a_stop_that_does_not_end_fails_with_the_journal():
    clock = Clock()
    fake = FakeSystemd([lambda c: {"gunicorn.service": {"active": "deactivating", "sub": "stop-sigterm"}}], clock,
                       journal="gunicorn[12]: waiting for workers to finish\n")
    with pytest.raises(sd.SystemdError) as caught:
        run(fake, ["gunicorn"], "stopped", clock, timeout=5, settle=0)
    msg = str(caught.value)
    assert msg.startswith("gunicorn.service is still deactivating (stop-sigterm), not stopped, after 5 seconds.")
    assert "(journalctl -u gunicorn.service -n 20 --no-pager):\ngunicorn[12]: waiting for workers" in msg
    assert clock.now - 1000.0 == pytest.approx(5, abs=0.5)


def test_a_start_counts_once_the_unit_is_active_for_the_settle_time():
    clock = Clock()
    # Active since 1000.5 on systemd's monotonic clock, the clock of the module: running at 1002.5.
    fake = FakeSystemd([lambda c: {"gunicorn.service": {"active": "inactive"}},
                        lambda c: {"gunicorn.service": {"active": "activating", "job": "3"}},
                        lambda c: {"gunicorn.service": {"active": "active", "sub": "running", "pid": "40",
                                                        "entered": "1000500000"}}], clock)
    result = run(fake, ["gunicorn"], "started", clock)
    assert result["programs"][0] == {"name": "gunicorn", "unit": "gunicorn.service", "before": "inactive (dead)",
                                     "after": "active (running)"}
    # What it is at the end of the wait, not at the first read.
    assert result["running"] == ["gunicorn"]
    assert 1002.5 <= clock.now < 1003


def test_a_unit_already_running_long_enough_needs_no_settle_wait():
    clock = Clock()
    fake = FakeSystemd([lambda c: {"gunicorn.service": {"active": "active", "pid": "9", "entered": "5000000"}}], clock)
    run(fake, ["gunicorn"], "started", clock)
    assert clock.now == 1000.0 and len(fake.calls) == 2


def test_a_unit_that_crashes_after_its_start_fails_with_its_journal():
    clock = Clock()
    states = [lambda c: {"celery-crash.service": {}},
              lambda c: {"celery-crash.service": {"active": "active", "pid": "50", "entered": "1000000000"}},
              lambda c: {"celery-crash.service": {"active": "failed", "sub": "failed", "result": "exit-code",
                                                  "status": "1"}}]
    fake = FakeSystemd(states, clock, journal="sh[50]: cannot connect to redis://127.0.0.1:6399/0\n"
                                              "systemd[1]: celery-crash.service: Failed with result 'exit-code'.\n")
    with pytest.raises(sd.SystemdError) as caught:
        run(fake, ["celery-crash"], "started", clock)
    msg = str(caught.value)
    assert msg.startswith("celery-crash.service is failed (exit-code, exit status 1) right after its start: "
                          "it did not stay running.")
    assert "cannot connect to redis://127.0.0.1:6399/0" in msg
    assert ["/usr/bin/journalctl", "-u", "celery-crash.service", "-n", "20", "--no-pager"] in fake.calls


def test_a_failed_unit_with_its_start_job_pending_is_waited_for():
    clock = Clock()
    fake = FakeSystemd([lambda c: {"gunicorn.service": {"active": "failed"}},
                        lambda c: {"gunicorn.service": {"active": "failed", "job": "9"}},
                        lambda c: {"gunicorn.service": {"active": "active", "sub": "running", "pid": "3",
                                                        "entered": "990000000"}}],
                       clock)
    result = run(fake, ["gunicorn"], "started", clock)
    assert result["programs"][0]["after"] == "active (running)"


def test_a_crash_loop_fails_at_the_deadline_saying_it_restarts():
    clock = Clock()

    def looping(c):
        # Active for half a second in every second, restarted each time.
        if c.now % 1 < 0.5:
            return {"w.service": {"active": "active", "pid": str(int(c.now)), "entered": str(int(c.now) * 1000000),
                                  "restarts": str(int(c.now) - 999)}}
        return {"w.service": {"active": "activating", "sub": "auto-restart", "restarts": str(int(c.now) - 999)}}
    fake = FakeSystemd([lambda c: {"w.service": {}}, looping], clock)
    with pytest.raises(sd.SystemdError) as caught:
        run(fake, ["w"], "started", clock, timeout=4)
    msg = str(caught.value)
    assert "w.service is still" in msg and "not running for 2 seconds in a row, after 4 seconds" in msg
    assert "(systemd restarted it 7 times). Its last journal lines" in msg
    assert clock.now - 1000.0 == pytest.approx(6, abs=0.5)


def test_a_systemctl_that_cannot_answer_is_a_clear_failure():
    def fail(argv):
        return 1, "", "System has not been booted with systemd as init system (PID 1). Can't operate.\n"
    with pytest.raises(sd.SystemdError) as caught:
        sd.read_and_wait(backend(fail), ["web"], "stopped", wait=False)
    assert "Is systemd this host's service manager (PID 1)? Set rollback_service_manager: supervisor" in str(
        caught.value)
    assert "has not been booted with systemd" in str(caught.value)
