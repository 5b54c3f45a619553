"""rollback_decision through AnsibleModule: argument handling and failures."""
from __future__ import annotations

import pytest

from ansible_collections.runbooks.rollback.plugins.modules import rollback_decision
from module_runner import run_module, warning_messages

NOW = "2026-11-24T12:00:00Z"


def decide(capsys, **args):
    args.setdefault("now", NOW)
    return run_module(rollback_decision, args, capsys)


@pytest.mark.parametrize("deployed_at, window, allowed", [
    ("2026-11-24T10:01:00Z", "0-2h", True),      # 1:59
    ("2026-11-24T10:00:00Z", "2-24h", True),     # 2:00
    ("2026-11-23T12:01:00Z", "2-24h", True),     # 23:59
    ("2026-11-23T12:00:00Z", "24-48h", False),   # 24:00
    ("2026-11-22T12:01:00Z", "24-48h", False),   # 47:59
    ("2026-11-22T12:00:00Z", "48h+", False),     # 48:00
])
def test_boundaries_through_the_module_for_a_major_incident(capsys, deployed_at, window, allowed):
    result, failed = decide(capsys, deployed_at=deployed_at, scenario="2")
    assert not failed
    assert result["window"] == window
    assert result["rollback_allowed"] is allowed
    assert result["changed"] is False


def test_full_result(capsys):
    result, failed = decide(capsys, deployed_at="2026-11-24T12:30:00+02:00", scenario="critical")
    assert not failed
    assert result["hours_since_deployment"] == 1.5
    assert result["deployed_at"] == "2026-11-24T10:30:00Z"
    assert result["now"] == NOW
    assert result["recommended_action"] == "immediate rollback"
    assert result["scenario"] == 1 and result["scenario_name"] == "critical"


def test_symptoms_pick_the_scenario(capsys):
    result, failed = decide(capsys, deployed_at="2026-11-24T02:00:00Z",
                            symptoms=["typo", "feature_broken"])
    assert not failed
    assert result["scenario"] == 2 and result["rollback_allowed"] is True
    assert [entry["symptom"] for entry in result["symptoms"]] == ["typo", "feature_broken"]


def test_symptoms_are_quoted_in_the_runbooks_words(capsys):
    result, failed = decide(capsys, deployed_at="2026-11-24T02:00:00Z", now="2026-11-24T03:00:00Z",
                            symptoms=["ui_glitches", "data_corruption"])
    assert not failed
    assert result["scenario"] == 2
    assert [entry["runbook"] for entry in result["symptoms"]] == ["UI glitches", "Data integrity issues"]
    assert result["symptoms"][1]["taken_as"].startswith("data_corruption taken as the runbook's symptom")
    assert "Symptoms: UI glitches (scenario 3); Data integrity issues (scenario 2)." in result["reason"]


def test_a_scenario_given_has_no_symptoms(capsys):
    result, failed = decide(capsys, deployed_at="2026-11-24T02:00:00Z", now="2026-11-24T03:00:00Z", scenario="1")
    assert not failed and result["symptoms"] == []


def test_fail_on_denied_fails_with_the_reason_and_the_fields(capsys):
    result, failed = decide(capsys, deployed_at="2026-11-20T12:00:00Z", scenario="1", fail_on_denied=True)
    assert failed
    assert "48h+ window: fix forward only" in result["msg"]
    assert "override=true" in result["msg"]
    assert result["rollback_allowed"] is False and result["window"] == "48h+"


def test_override_passes_fail_on_denied(capsys):
    result, failed = decide(capsys, deployed_at="2026-11-20T12:00:00Z", scenario="1", fail_on_denied=True,
                            override=True, override_reason="restore approved by the data owner")
    assert not failed
    assert result["overridden"] is True and result["rollback_allowed"] is True


def test_critical_rollback_in_the_24_48h_window_is_allowed_with_a_warning(capsys):
    result, failed = decide(capsys, deployed_at="2026-11-23T00:00:00Z", scenario="critical")
    assert not failed
    assert result["window"] == "24-48h" and result["rollback_allowed"] is True
    assert any("fix forward is preferred" in w for w in warning_messages(result)), result


def test_an_allowed_rollback_in_the_first_window_has_no_warning(capsys):
    result, failed = decide(capsys, deployed_at="2026-11-24T11:00:00Z", scenario="critical")
    assert not failed and warning_messages(result) == []


def test_an_override_is_warned_about_in_the_log(capsys):
    result, failed = decide(capsys, deployed_at="2026-11-20T12:00:00Z", scenario="2", override=True,
                            override_reason="approved by the data owner")
    assert not failed
    assert any("override against the matrix" in w and "approved by the data owner" in w
               for w in warning_messages(result)), result


def test_now_defaults_to_the_current_time(capsys):
    result, failed = run_module(rollback_decision, {"deployed_at": "2020-01-01T00:00:00Z", "scenario": "1"},
                                capsys)
    assert not failed
    assert result["hours_since_deployment"] > 50000
    assert result["window"] == "48h+"


def test_epoch_deployed_at(capsys):
    result, failed = decide(capsys, deployed_at=1795521600 - 3600, scenario="1")  # NOW - 1 h
    assert not failed
    assert result["hours_since_deployment"] == 1.0


@pytest.mark.parametrize("args, message", [
    ({"deployed_at": "2026-11-24T10:00:00", "scenario": "1"}, "has no time zone"),
    ({"deployed_at": "last tuesday", "scenario": "1"}, "not an ISO 8601 time"),
    ({"deployed_at": "2026-11-24T13:00:00Z", "scenario": "1"}, "in the future"),
    ({"deployed_at": "2026-11-24T10:00:00Z", "scenario": "5"}, "scenario '5' is unknown"),
    ({"deployed_at": "2026-11-24T10:00:00Z", "symptoms": ["gremlins"]}, "unknown symptom"),
    ({"deployed_at": "2026-11-24T10:00:00Z", "symptoms": ["search_broken"]}, "is ambiguous"),
    ({"deployed_at": "2026-11-24T10:00:00Z", "symptoms": []}, "symptoms is empty"),
    ({"deployed_at": "2026-11-24T10:00:00Z", "symptoms": {"site": "down"}}, "argument 'symptoms' is of type dict"),
    ({"deployed_at": "2026-11-24T10:00:00+25:00", "scenario": "1"}, "not an ISO 8601 time"),
    ({"deployed_at": "2026-11-24T10:00:00Z"}, "one of the following is required: scenario, symptoms"),
    ({"deployed_at": "2026-11-24T10:00:00Z", "scenario": "1", "symptoms": ["typo"]}, "mutually exclusive"),
    ({"deployed_at": "2026-11-24T10:00:00Z", "scenario": "1", "override": True},
     "override is True but all of the following are missing: override_reason"),
    ({"deployed_at": "2026-11-24T10:00:00Z", "scenario": "1", "override": True, "override_reason": "  "},
     "override=true needs override_reason"),
    ({"deployed_at": "2026-11-24T10:00:00Z", "scenario": "1", "override": "perhaps"}, "override"),
    ({"deployed_at": "2026-11-24T10:00:00Z", "scenario": "1", "windows": {"acceptable_until": 30}},
     "positive and increasing"),
    ({"deployed_at": "2026-11-24T10:00:00Z", "scenario": "1", "windows": {"acceptable_until": -1}},
     "positive and increasing"),
    ({"deployed_at": "2026-11-24T10:00:00Z", "scenario": "1", "windows": {"fix_fwd": 3}},
     "Unsupported parameters"),
    ({"deployed_at": "2026-11-24T10:00:00Z", "scenario": "1", "windows": "soon"}, "dictionary requested"),
    ({"deployed_at": "2026-11-24T10:00:00Z", "scenario": "1", "windows": {"acceptable_until": "x"}},
     "acceptable_until"),
    ({"deployed_at": "2026-11-24T10:00:00Z", "scenario": "1", "fail_on_denied": "sometimes"}, "fail_on_denied"),
    ({"deployed_at": "2026-11-24T10:00:00Z", "scenario": "1", "now": "noon"}, "now: 'noon' is not an ISO 8601"),
    ({"scenario": "1"}, "missing required arguments: deployed_at"),
    ({"deployed_at": "2026-11-24T10:00:00Z", "scenario": "1", "colour": "red"}, "Unsupported parameters"),
])
def test_bad_input_fails_with_a_clear_message(capsys, args, message):
    args.setdefault("now", NOW)
    result, failed = run_module(rollback_decision, args, capsys)
    assert failed
    assert message in result["msg"]
