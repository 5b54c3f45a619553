"""The decision role through real ansible-playbook runs on localhost."""
from __future__ import annotations

import datetime

import pytest

from playbook_runner import run_playbook

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


def play(tmp_path, **extra_vars):
    return run_playbook(tmp_path, PLAYBOOK, extra_vars)


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
    assert "site_down taken as the runbook's symptom" in run.stdout


def test_scenario_and_symptoms_together_are_refused(tmp_path):
    run = play(tmp_path, decision_deployed_at=hours_ago(5), decision_scenario="3", decision_symptoms=["app_wont_start"])
    assert run.returncode != 0
    assert "mutually exclusive: scenario|symptoms" in run.stdout + run.stderr


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
