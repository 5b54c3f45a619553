"""module_utils.supervisor: status parsing, stop/start, the wait and the failure messages.

A stand-in for ``AnsibleModule.run_command`` answers each supervisorctl call from a script,
so the logic is tested without processes; the module test drives a stand-in supervisorctl
binary, and the molecule scenario ``services`` a real supervisord.
"""
from __future__ import annotations

import time

import pytest

from ansible_collections.runbooks.rollback.plugins.module_utils import supervisor as sv

# supervisorctl 4.2 (Debian 12), as the scenario's host prints it.
STATUS = """\
broken                           FATAL     Exited too quickly (process log may have details)
celery_beat                      STOPPED   Nov 25 10:12 AM
celery_worker                    RUNNING   pid 211, uptime 0:03:02
nginx                            RUNNING   pid 17, uptime 0:05:11
queue:high                       STARTING
web                              BACKOFF   Exited too quickly (process log may have details)
"""


def status_text(**states):
    return "".join("%-32s %s\n" % (name, state) for name, state in states.items())


class FakeRunCommand:
    """Answers supervisorctl calls as ``AnsibleModule.run_command`` would; records each argv.

    ``statuses``: the outputs of successive ``status`` calls (the last one repeats), as
    (rc, out, err) or as the out of an rc 0 call. ``tails``: {(name, channel): (rc, out)}.
    ``acts``: {"stop"/"start": (rc, out, err)}.
    """

    def __init__(self, statuses, tails=None, acts=None):
        self.statuses = [s if isinstance(s, tuple) else (0, s, "") for s in statuses]
        self.tails = tails or {}
        self.acts = acts or {}
        self.calls = []

    def __call__(self, argv, handle_exceptions=True):
        self.calls.append(list(argv))
        args = argv[argv.index("/usr/bin/supervisorctl") + 1:]
        if args[:2] == ["-c", "/etc/supervisor/supervisord.conf"]:
            args = args[2:]
        if args[0] == "status":
            return self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        if args[0] == "tail":
            rc, out = self.tails.get((args[2], args[3]), (1, "%s: ERROR (no log file)" % args[2]))
            return rc, out, ""
        done = {"stop": "stopped", "start": "started"}[args[0]]
        return self.acts.get(args[0], (0, "".join("%s: %s\n" % (n, done) for n in args[1:]), ""))

    def commands(self):
        return [c[c.index("/usr/bin/supervisorctl") + 1] for c in self.calls]


def backend(fake, limiter=None, config=None):
    return sv.Supervisor(fake, "/usr/bin/supervisorctl", config, limiter)


# ---------------------------------------------------------------- parsing

def test_status_lines_give_every_program_and_its_state():
    assert sv.parse_status(STATUS) == {
        "broken": "FATAL", "celery_beat": "STOPPED", "celery_worker": "RUNNING", "nginx": "RUNNING",
        "queue:high": "STARTING", "web": "BACKOFF"}


@pytest.mark.parametrize("text", [
    "unix:///var/run/supervisor.sock no such file",
    "unix:///var/run/supervisor.sock refused connection",
    "error: <class 'PermissionError'>, [Errno 13] Permission denied: file: socket.py line: 547",
    "",
])
def test_errors_of_supervisorctl_are_not_read_as_programs(text):
    assert sv.parse_status(text) == {}


def test_only_programs_supervisord_confirmed_count_as_there():
    said = ("celery_worker: started\nbroken: ERROR (spawn error)\nweb: ERROR (already started)\n"
            "queue:high: started\nnot a line")
    assert sv.confirmed_by(said, "started") == {"celery_worker", "queue:high"}
    assert sv.confirmed_by("celery_beat: stopped\ncelery_worker: ERROR (not running)",
                           "stopped") == {"celery_beat"}
    assert backend(FakeRunCommand([""])).confirmed(said, "stopped") == set()


@pytest.mark.parametrize("limit, seconds", [(0.2, 1), (1.0, 1), (1.01, 2), (59.5, 60)])
def test_limits_are_whole_seconds_rounded_up(limit, seconds):
    assert sv.whole_seconds(limit) == seconds


# ---------------------------------------------------------------- the request

@pytest.mark.parametrize("names, state, timeout, together, message", [
    ([], "stopped", 60, False, "names is empty: give the supervisor programs to bring to stopped"),
    (["web", "web"], "started", 60, False, "names lists a program twice: web, web"),
    (["web"], "stopped", 0, False, "timeout must be 1 second or more, got 0"),
    (["web", "celery_worker"], "stopped", 60, True, "a stop goes in the order of names"),
])
def test_requests_that_cannot_be_carried_out_are_refused(names, state, timeout, together, message):
    with pytest.raises(sv.SupervisorError, match=message):
        sv.check_request(names, state, timeout, together)


def test_a_good_request_passes():
    sv.check_request(["celery_worker", "web"], "started", 1, True)


def test_supervisorctl_is_looked_up_only_when_not_given(tmp_path):
    looked_up = []

    def get_bin_path(name, required=False):
        looked_up.append((name, required))
        return "/usr/bin/supervisorctl"

    assert sv.find_supervisorctl(None, get_bin_path) == "/usr/bin/supervisorctl"
    assert looked_up == [("supervisorctl", False)]
    assert sv.find_supervisorctl("/bin/true", lambda *a, **k: pytest.fail("looked up")) == "/bin/true"
    with pytest.raises(sv.SupervisorError, match="supervisorctl is not on the PATH of this host"):
        sv.find_supervisorctl(None, lambda *a, **k: None)
    missing = str(tmp_path / "supervisorctl")
    with pytest.raises(sv.SupervisorError) as caught:
        sv.find_supervisorctl(missing, get_bin_path)
    assert str(caught.value) == "supervisorctl_path %s is not an executable file on this host" % missing
    assert len(looked_up) == 1


# ---------------------------------------------------------------- supervisorctl calls

def test_calls_go_through_coreutils_timeout_with_the_config():
    fake = FakeRunCommand([status_text(web="RUNNING")])
    supervisor = backend(fake, limiter="/usr/bin/timeout", config="/etc/supervisor/supervisord.conf")
    assert supervisor.status() == {"web": "RUNNING"}
    supervisor.stop(["web"], 1.2)
    assert fake.calls == [
        ["/usr/bin/timeout", "--kill-after=5", "30", "/usr/bin/supervisorctl", "-c",
         "/etc/supervisor/supervisord.conf", "status"],
        ["/usr/bin/timeout", "--kill-after=5", "2", "/usr/bin/supervisorctl", "-c",
         "/etc/supervisor/supervisord.conf", "stop", "web"]]


def test_without_coreutils_timeout_supervisorctl_runs_as_is():
    fake = FakeRunCommand([status_text(web="RUNNING")])
    backend(fake).status()
    assert fake.calls == [["/usr/bin/supervisorctl", "status"]]


@pytest.mark.parametrize("answer, limiter, message", [
    ((124, "", ""), "/usr/bin/timeout",
     "supervisord did not answer /usr/bin/supervisorctl status within 30 seconds: is it hung?"),
    ((2, "unix:///var/run/supervisor.sock refused connection", ""), None,
     "cannot read the status from supervisord with /usr/bin/supervisorctl status (exit 2): "
     "unix:///var/run/supervisor.sock refused connection. Is supervisord running"),
    # supervisorctl exits 0 or 3 (a program is not running) even when it cannot connect.
    ((3, "", "unix:///var/run/supervisor.sock no such file"), None,
     "cannot read the status from supervisord with /usr/bin/supervisorctl status (exit 3)"),
])
def test_a_status_that_cannot_be_read_fails_with_the_command(answer, limiter, message):
    with pytest.raises(sv.SupervisorError) as caught:
        backend(FakeRunCommand([answer]), limiter=limiter).status()
    assert message in str(caught.value)


def test_exit_3_with_programs_is_a_status():
    # LSB "some program is not running": the status is there all the same.
    assert backend(FakeRunCommand([(3, status_text(web="STOPPED"), "")])).status() == {"web": "STOPPED"}


def test_a_stop_supervisorctl_does_not_answer_says_so_and_goes_on():
    fake = FakeRunCommand([""], acts={"stop": (124, "celery_beat: stopped\n", "")})
    said = backend(fake, limiter="/usr/bin/timeout").stop(["celery_beat", "celery_worker"], 4.5)
    assert said == ("celery_beat: stopped\nsupervisorctl stop celery_beat celery_worker gave no answer "
                    "within 5 seconds and was ended")


def test_a_start_that_fails_without_output_is_an_error():
    fake = FakeRunCommand([""], acts={"start": (2, "", "error: <class 'socket.error'>, [Errno 111]")})
    with pytest.raises(sv.SupervisorError) as caught:
        backend(fake).start(["web"], 10)
    assert str(caught.value) == ("/usr/bin/supervisorctl start web failed (exit 2): "
                                 "error: <class 'socket.error'>, [Errno 111]")


def test_a_start_that_fails_for_some_programs_is_left_to_the_wait():
    fake = FakeRunCommand([""], acts={"start": (1, "web: ERROR (spawn error)\ncelery_worker: started\n", "")})
    assert backend(fake).start(["web", "celery_worker"], 10) == "web: ERROR (spawn error)\ncelery_worker: started"


# ---------------------------------------------------------------- the wait

def test_wait_reads_the_status_until_every_program_is_stopped():
    fake = FakeRunCommand([status_text(celery_beat="STOPPING", celery_worker="RUNNING"),
                           status_text(celery_beat="STOPPED", celery_worker="STOPPING"),
                           status_text(celery_beat="STOPPED", celery_worker="EXITED")])
    states = backend(fake).wait(["celery_beat", "celery_worker"], "stopped", time.monotonic() + 30)
    assert states == {"celery_beat": "STOPPED", "celery_worker": "EXITED"}
    assert fake.commands() == ["status"] * 3


def test_fatal_counts_as_stopped():
    fake = FakeRunCommand([status_text(broken="FATAL")])
    assert backend(fake).wait(["broken"], "stopped", time.monotonic()) == {"broken": "FATAL"}


def test_starting_is_not_started_yet():
    fake = FakeRunCommand([status_text(web="STARTING"), status_text(web="RUNNING")])
    assert backend(fake).wait(["web"], "started", time.monotonic() + 30) == {"web": "RUNNING"}
    assert fake.commands() == ["status", "status"]


def test_a_program_still_running_after_the_timeout_fails_with_its_log():
    fake = FakeRunCommand([status_text(celery_beat="STOPPED", celery_worker="RUNNING")],
                          tails={("celery_worker", "stderr"): (0, "celery_worker: ERROR (no log file)\n"),
                                 ("celery_worker", "stdout"): (0, "worker: Warm shutdown\nwaiting for 3 tasks\n")})
    with pytest.raises(sv.SupervisorError) as caught:
        backend(fake).wait(["celery_beat", "celery_worker"], "stopped", time.monotonic(),
                           said="celery_beat: stopped\n")
    assert str(caught.value) == ("celery_worker is still RUNNING, not stopped, after the timeout. Its last log "
                                 "lines:\nworker: Warm shutdown\nwaiting for 3 tasks\n"
                                 "supervisorctl said: celery_beat: stopped")
    # Only the late program's log is read, stderr first.
    tails = [c[1:] for c in fake.calls if c[1] == "tail"]
    assert tails == [["tail", "-1200", "celery_worker", "stderr"], ["tail", "-1200", "celery_worker", "stdout"]]


def test_a_program_supervisor_does_not_show_any_more_is_unknown():
    fake = FakeRunCommand([status_text(web="RUNNING")])
    with pytest.raises(sv.SupervisorError) as caught:
        backend(fake).wait(["web", "gone"], "started", time.monotonic())
    assert str(caught.value) == "gone is still unknown, not started, after the timeout"


def test_a_started_program_that_ends_fatal_fails_at_once_with_the_last_log_lines():
    log = "\n".join("line %d" % n for n in range(400))
    fake = FakeRunCommand([status_text(web="FATAL", celery_worker="STARTING")],
                          tails={("web", "stderr"): (0, log)})
    started = time.monotonic()
    with pytest.raises(sv.SupervisorError) as caught:
        backend(fake).wait(["celery_worker", "web"], "started", started + 60)
    assert time.monotonic() - started < 5, "a FATAL program must not wait for the deadline"
    message = str(caught.value)
    assert message.startswith("web ended FATAL: supervisor gave up starting it. Its last log lines:\n")
    assert message.endswith("line 399") and "line 0\n" not in message
    assert len(message.split("lines:\n", 1)[1]) == 1200
    assert "supervisorctl said" not in message


# ---------------------------------------------------------------- bring_to

def test_only_running_programs_are_stopped_and_a_confirmed_stop_reads_no_status_again():
    fake = FakeRunCommand([status_text(celery_beat="RUNNING", celery_worker="BACKOFF", web="STOPPED")])
    result = sv.bring_to(backend(fake), ["celery_beat", "celery_worker", "web"], "stopped", 60)
    assert fake.commands() == ["status", "stop"]
    assert fake.calls[1] == ["/usr/bin/supervisorctl", "stop", "celery_beat", "celery_worker"]
    assert result["changed"] is True
    assert result["acted_on"] == ["celery_beat", "celery_worker"]
    assert result["supervisorctl"] == ["celery_beat: stopped", "celery_worker: stopped"]
    assert result["programs"] == [{"name": "celery_beat", "before": "RUNNING", "after": "STOPPED"},
                                  {"name": "celery_worker", "before": "BACKOFF", "after": "STOPPED"},
                                  {"name": "web", "before": "STOPPED", "after": "STOPPED"}]
    assert result["running"] == []


def test_an_unconfirmed_start_is_read_back_until_running():
    fake = FakeRunCommand([status_text(web="STOPPED", celery_worker="RUNNING"),
                           status_text(web="STARTING", celery_worker="RUNNING"),
                           status_text(web="RUNNING", celery_worker="RUNNING")],
                          acts={"start": (1, "web: ERROR (abnormal termination)\n", "")})
    result = sv.bring_to(backend(fake), ["celery_worker", "web"], "started", 60)
    assert fake.commands() == ["status", "start", "status", "status"]
    assert result["acted_on"] == ["web"]
    assert [p["after"] for p in result["programs"]] == ["RUNNING", "RUNNING"]
    assert result["supervisorctl"] == ["web: ERROR (abnormal termination)"]
    assert result["running"] == ["celery_worker", "web"]
    assert result["elapsed"] >= 0.25


def test_starting_and_backoff_programs_are_waited_on_but_not_started_again():
    fake = FakeRunCommand([status_text(web="STARTING", queue="BACKOFF"),
                           status_text(web="RUNNING", queue="RUNNING")])
    result = sv.bring_to(backend(fake), ["web", "queue"], "started", 60)
    assert fake.commands() == ["status", "status"]
    assert result["changed"] is False and result["acted_on"] == []
    assert "supervisorctl" not in result
    assert [p["after"] for p in result["programs"]] == ["RUNNING", "RUNNING"]
    assert result["running"] == ["web", "queue"]


def test_programs_already_there_are_left_alone():
    fake = FakeRunCommand([status_text(web="RUNNING")])
    result = sv.bring_to(backend(fake), ["web"], "started", 60)
    assert fake.commands() == ["status"]
    assert result == {"changed": False, "acted_on": [], "elapsed": 0.0,
                      "programs": [{"name": "web", "before": "RUNNING", "after": "RUNNING"}], "running": ["web"]}


def test_check_mode_reads_the_status_and_acts_on_nothing():
    fake = FakeRunCommand([status_text(web="RUNNING", celery_beat="EXITED")])
    result = sv.bring_to(backend(fake), ["web", "celery_beat"], "stopped", 60, check_mode=True)
    assert fake.commands() == ["status"]
    assert result == {"changed": True, "acted_on": ["web"], "elapsed": 0.0,
                      "programs": [{"name": "web", "before": "RUNNING", "after": "RUNNING"},
                                   {"name": "celery_beat", "before": "EXITED", "after": "EXITED"}],
                      "running": ["web"]}


def test_unknown_programs_are_refused_before_acting_and_the_known_ones_listed():
    fake = FakeRunCommand([status_text(web="RUNNING", celery_beat="RUNNING")])
    with pytest.raises(sv.SupervisorError) as caught:
        sv.bring_to(backend(fake), ["celery_beat", "celery", "worker"], "stopped", 60)
    assert str(caught.value).startswith("supervisor has no program named celery, worker. Known programs: "
                                        "celery_beat, web. Use the names of the [program:...] sections")
    assert fake.commands() == ["status"]


def test_the_wait_is_the_timeout_per_program_waited_on(monkeypatch):
    fake = FakeRunCommand([status_text(a="RUNNING", b="RUNNING", c="STOPPED")],
                          acts={"stop": (0, "", "")})
    deadlines = []
    supervisor = backend(fake, limiter="/usr/bin/timeout")
    monkeypatch.setattr(supervisor, "wait", lambda names, state, deadline, said="": deadlines.append(deadline) or {})
    before = time.monotonic()
    sv.bring_to(supervisor, ["a", "b", "c"], "stopped", 7)
    assert before + 14 <= deadlines[0] <= time.monotonic() + 14
    # The stop itself got that budget: coreutils timeout ends it then.
    assert fake.calls[1] == ["/usr/bin/timeout", "--kill-after=5", "14", "/usr/bin/supervisorctl", "stop", "a", "b"]
