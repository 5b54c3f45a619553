"""systemd_units: the module refuses bad input before reading, and reads with systemctl show.

The parsing, the waits and the messages are tested in tests/unit/plugins/module_utils/test_systemd.py;
real units under a real systemd in the molecule scenario ``services_systemd``.
"""
from __future__ import annotations

import pytest

from ansible_collections.runbooks.rollback.plugins.modules import systemd_units
from module_runner import run_module


@pytest.mark.parametrize("args, message", [
    ({"names": [], "state": "stopped"}, "names is empty"),
    ({"names": ["web", "web.service"], "state": "started"}, "names lists a unit twice"),
    ({"names": ["web"], "state": "stopped", "timeout": 0}, "timeout must be 1 second or more"),
    ({"names": ["web"], "state": "paused"}, "value of state must be one of: started, stopped"),
])
def test_bad_input_is_refused_with_a_message(capsys, monkeypatch, tmp_path, args, message):
    fake_systemctl(monkeypatch, tmp_path, "exit 0")
    result, failed = run_module(systemd_units, args, capsys)
    assert failed and message in result["msg"], result


def fake_systemctl(monkeypatch, tmp_path, body):
    path = tmp_path / "systemctl"
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)
    monkeypatch.setenv("PATH", "%s:%s" % (tmp_path, "/usr/bin:/bin"))
    return path


def test_without_systemctl_the_module_says_what_to_set(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    result, failed = run_module(systemd_units, {"names": ["web"], "state": "stopped"}, capsys)
    assert failed and "Set rollback_service_manager: supervisor otherwise" in result["msg"]


def test_a_read_calls_systemctl_show_once_for_all_units(capsys, monkeypatch, tmp_path):
    fake_systemctl(monkeypatch, tmp_path, """echo "$@" >> "$(dirname "$0")/calls"
for unit in "$@"; do
  case $unit in show|--*) continue ;; esac
  printf 'Id=%s\\nLoadState=loaded\\nActiveState=active\\nSubState=running\\nJob=\\n\\n' "$unit"
done""")
    result, failed = run_module(systemd_units, {"names": ["celerybeat", "celery-default"], "state": "stopped",
                                                "wait": False}, capsys)
    assert not failed, result
    assert result["acted_on"] == ["celerybeat", "celery-default"]
    calls = (tmp_path / "calls").read_text().splitlines()
    assert len(calls) == 1 and calls[0].startswith("show --property=Id,LoadState,ActiveState")
    assert calls[0].endswith("-- celerybeat.service celery-default.service")
