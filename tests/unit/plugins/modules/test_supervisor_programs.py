"""supervisor_programs: the module refuses bad input before acting and calls supervisorctl.

The status parsing, the stop/start and the wait are tested directly in
tests/unit/plugins/module_utils/test_supervisor.py. Stopping and starting real programs
(order, wait, a program that cannot start, check mode, a start of several programs at once)
is tested against a real supervisord in the molecule scenario ``services``; here a stand-in
supervisorctl shows how the module calls it.
"""
from __future__ import annotations

import os
import textwrap

import pytest

from ansible_collections.runbooks.rollback.plugins.modules import supervisor_programs
from module_runner import run_module


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


def test_check_mode_starts_nothing(capsys, fake_supervisorctl):
    result, failed = run_module(supervisor_programs, {
        "names": ["celery_worker", "web"], "state": "started", "supervisorctl_path": str(fake_supervisorctl),
        "_ansible_check_mode": True}, capsys)
    assert not failed, result
    assert not (fake_supervisorctl.parent / "calls").exists()
    assert result["changed"] is True and result["acted_on"] == ["celery_worker", "web"]
    assert [p["after"] for p in result["programs"]] == ["STOPPED", "STOPPED"]
