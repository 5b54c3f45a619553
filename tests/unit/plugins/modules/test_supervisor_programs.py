"""supervisor_programs: reading supervisorctl's status and refusing bad input before acting.

Stopping and starting real programs (order, wait, a program that cannot start, check mode) is
tested against a real supervisord in the molecule scenario ``services``.
"""
from __future__ import annotations

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
