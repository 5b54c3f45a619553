"""supervisor_programs: reading supervisorctl's status and refusing bad input before acting.

Stopping and starting real programs (order, wait, a program that cannot start, check mode, a
start of several programs at once) is tested against a real supervisord in the molecule
scenario ``services``; here a stand-in supervisorctl shows how the module calls it.
"""
from __future__ import annotations

import os
import textwrap

import pytest

from ansible_collections.runbooks.rollback.plugins.modules import supervisor_programs
from module_runner import run_module

# supervisorctl 4.2 (Debian 12), as the scenario's host prints it.
STATUS = """\
broken                           FATAL     Exited too quickly (process log may have details)
celery_beat                      STOPPED   Nov 25 10:12 AM
celery_worker                    RUNNING   pid 211, uptime 0:03:02
nginx                            RUNNING   pid 17, uptime 0:05:11
queue:high                       STARTING
web                              BACKOFF   Exited too quickly (process log may have details)
"""


def test_status_lines_give_every_program_and_its_state():
    assert supervisor_programs.parse_status(STATUS) == {
        "broken": "FATAL", "celery_beat": "STOPPED", "celery_worker": "RUNNING", "nginx": "RUNNING",
        "queue:high": "STARTING", "web": "BACKOFF"}


@pytest.mark.parametrize("text", [
    "unix:///var/run/supervisor.sock no such file",
    "unix:///var/run/supervisor.sock refused connection",
    "error: <class 'PermissionError'>, [Errno 13] Permission denied: file: socket.py line: 547",
    "",
])
def test_errors_of_supervisorctl_are_not_read_as_programs(text):
    assert supervisor_programs.parse_status(text) == {}


@pytest.mark.parametrize("args, message", [
    ({"names": [], "state": "stopped"}, "names is empty"),
    ({"names": ["web", "web"], "state": "started"}, "names lists a program twice"),
    ({"names": ["web"], "state": "stopped", "timeout": 0}, "timeout must be 1 second or more"),
    ({"names": ["web"], "state": "stopped", "supervisorctl_path": "/nonexistent/supervisorctl"},
     "supervisorctl_path /nonexistent/supervisorctl is not an executable file"),
    # A supervisorctl that prints no status (supervisord down, wrong config): refused, nothing acted on.
    ({"names": ["web"], "state": "stopped", "supervisorctl_path": "/bin/false"},
     "cannot read the status from supervisord with /bin/false status (exit 1)"),
    ({"names": ["web"], "state": "paused"}, "value of state must be one of: started, stopped"),
    ({"names": ["web", "celery_worker"], "state": "stopped", "together": True},
     "a stop goes in the order of names (celery beat before the workers)"),
])
def test_bad_input_is_refused_with_a_message(capsys, args, message):
    result, failed = run_module(supervisor_programs, args, capsys)
    assert failed and message in result["msg"], result


def test_only_programs_supervisord_confirmed_count_as_there():
    said = ("celery_worker: started\nbroken: ERROR (spawn error)\nweb: ERROR (already started)\n"
            "queue:high: started\nnot a line")
    assert supervisor_programs.confirmed_by(said, "started") == {"celery_worker", "queue:high"}
    assert supervisor_programs.confirmed_by("celery_beat: stopped\ncelery_worker: ERROR (not running)",
                                            "stopped") == {"celery_beat"}


# A supervisorctl that takes a second to start each program, as supervisord does with
# startsecs=1, and writes when each of its start calls began and ended.
FAKE_SUPERVISORCTL = textwrap.dedent("""\
    #!/bin/sh
    dir=$(dirname "$0")
    [ "$1" = "-c" ] && shift 2
    command=$1; shift
    case $command in
      status)
        for p in web celery_worker celery_beat; do
          printf '%-32s %s\\n' "$p" "$(cat "$dir/$p" 2>/dev/null || echo STOPPED)"
        done ;;
      start)
        echo "begin $*" >> "$dir/calls"
        for n in "$@"; do sleep 1; echo RUNNING > "$dir/$n"; echo "$n: started"; done
        echo "end $*" >> "$dir/calls" ;;
    esac
    """)


@pytest.fixture
def fake_supervisorctl(tmp_path):
    path = tmp_path / "supervisorctl"
    path.write_text(FAKE_SUPERVISORCTL)
    os.chmod(path, 0o755)
    return path


def test_together_starts_each_program_with_its_own_call_at_the_same_time(capsys, fake_supervisorctl):
    result, failed = run_module(supervisor_programs, {
        "names": ["celery_worker", "celery_beat", "web"], "state": "started", "together": True,
        "supervisorctl_path": str(fake_supervisorctl)}, capsys)
    assert not failed, result
    calls = (fake_supervisorctl.parent / "calls").read_text().splitlines()
    # Every start began before any ended: they ran side by side, one program each.
    assert sorted(calls[:3]) == ["begin celery_beat", "begin celery_worker", "begin web"], calls
    assert sorted(calls[3:]) == ["end celery_beat", "end celery_worker", "end web"], calls
    assert result["acted_on"] == ["celery_worker", "celery_beat", "web"]
    assert [p["after"] for p in result["programs"]] == ["RUNNING"] * 3
    assert result["supervisorctl"] == ["celery_worker: started", "celery_beat: started", "web: started"]


def test_without_together_one_call_starts_the_programs_in_order(capsys, fake_supervisorctl):
    result, failed = run_module(supervisor_programs, {
        "names": ["celery_worker", "web"], "state": "started", "supervisorctl_path": str(fake_supervisorctl)}, capsys)
    assert not failed, result
    assert (fake_supervisorctl.parent / "calls").read_text().splitlines() == [
        "begin celery_worker web", "end celery_worker web"]
    assert result["supervisorctl"] == ["celery_worker: started", "web: started"]
