"""The decision role through real ansible-playbook runs on localhost."""
from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
PLAYBOOK = """
- name: Decide
  hosts: localhost
  gather_facts: false
  roles:
    - role: runbooks.rollback.decision
"""


def hours_ago(hours: float) -> str:
    moment = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=hours)
    return moment.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def play(tmp_path, **extra_vars) -> subprocess.CompletedProcess:
    book = tmp_path / "decide.yml"
    book.write_text(PLAYBOOK)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".work", "collections"),
               ANSIBLE_HOME=str(tmp_path / "ansible-home"), ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="0",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="0")
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,", "-c", "local",
           "-e", "ansible_python_interpreter=" + sys.executable,
           "-e", json.dumps(extra_vars), str(book)]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)


def test_allowed_rollback_passes_and_shows_the_row(tmp_path):
    run = play(tmp_path, decision_deployed_at=hours_ago(1), decision_scenario="critical")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Window 0-2h (rollback acceptable), data-loss risk minimal" in run.stdout
    assert "Scenario 1 critical: immediate rollback" in run.stdout
    assert "Rollback allowed by the matrix." in run.stdout


def test_denied_rollback_stops_and_says_how_to_override(tmp_path):
    run = play(tmp_path, decision_deployed_at=hours_ago(30), decision_scenario="2")
    assert run.returncode != 0
    assert "24-48h window: fix forward preferred" in run.stdout
    assert "rollback denied" in run.stdout and "Nothing was changed" in run.stdout
    assert "decision_override=true" in run.stdout


def test_override_with_reason_runs_and_is_recorded(tmp_path):
    run = play(tmp_path, decision_deployed_at=hours_ago(72), decision_scenario="1", decision_override=True,
               decision_override_reason="restore approved by the data owner")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Overridden: restore approved by the data owner" in run.stdout


def test_symptoms_instead_of_scenario(tmp_path):
    run = play(tmp_path, decision_deployed_at=hours_ago(5), decision_symptoms=["site_down", "typo"])
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Scenario 1 critical" in run.stdout


@pytest.mark.parametrize("extra, message", [
    ({"decision_scenario": "1"}, "decision_deployed_at"),
    ({"decision_deployed_at": "2026-11-24T10:00:00", "decision_scenario": "1"}, "has no time zone"),
    ({"decision_deployed_at": "2026-11-24T10:00:00Z", "decision_scenario": "severe"}, "scenario 'severe' is unknown"),
    ({"decision_deployed_at": "2026-11-24T10:00:00Z", "decision_scenario": "1", "decision_override": "maybe"},
     "decision_override"),
    ({"decision_deployed_at": "2026-11-24T10:00:00Z", "decision_scenario": "1", "decision_override": True},
     "override_reason"),
    ({"decision_deployed_at": "2026-11-24T10:00:00Z", "decision_scenario": "1",
      "decision_windows": {"acceptable_until": 50}}, "positive and increasing"),
])
def test_bad_variables_fail_before_anything_runs(tmp_path, extra, message):
    run = play(tmp_path, **extra)
    assert run.returncode != 0
    assert message in run.stdout + run.stderr
