"""The decision matrix as a pure function: every boundary and every cell."""
from __future__ import annotations

import datetime

import pytest

from ansible_collections.runbooks.rollback.plugins.module_utils.decision import (
    DecisionError, cautions, decide, hours_between, normalize_windows, scenario_from_symptoms, scenario_number)
from ansible_collections.runbooks.rollback.plugins.module_utils.timeutil import (
    TimestampError, parse_timestamp)

H = 1.0
M = 1.0 / 60.0


@pytest.mark.parametrize("hours, window, risk", [
    (0.0, "0-2h", "minimal"),
    (1 * H + 59 * M, "0-2h", "minimal"),
    (2 * H, "2-24h", "low"),
    (23 * H + 59 * M, "2-24h", "low"),
    (24 * H, "24-48h", "moderate"),
    (47 * H + 59 * M, "24-48h", "moderate"),
    (48 * H, "48h+", "high"),
    (500 * H, "48h+", "high"),
])
def test_window_boundaries(hours, window, risk):
    result = decide(hours, 1)
    assert result["window"] == window
    assert result["data_loss_risk"] == risk


ALLOWED = {
    # scenario: allowed per window 0-2h, 2-24h, 24-48h, 48h+
    1: (True, True, True, False),
    2: (True, True, False, False),
    3: (False, False, False, False),
}
SAMPLE_HOURS = (1.0, 12.0, 36.0, 72.0)


@pytest.mark.parametrize("scenario", [1, 2, 3])
@pytest.mark.parametrize("column", [0, 1, 2, 3])
def test_every_cell_of_the_matrix(scenario, column):
    result = decide(SAMPLE_HOURS[column], scenario)
    assert result["rollback_allowed"] is ALLOWED[scenario][column]
    assert result["allowed_by_matrix"] is ALLOWED[scenario][column]
    assert result["overridden"] is False
    assert ("rollback allowed" if ALLOWED[scenario][column] else "rollback denied") in result["reason"]


@pytest.mark.parametrize("scenario", [1, 2, 3])
@pytest.mark.parametrize("column", [0, 1, 2, 3])
def test_only_a_critical_rollback_in_the_24_48h_window_is_cautioned(scenario, column):
    warnings = cautions(decide(SAMPLE_HOURS[column], scenario))
    if (scenario, column) == (1, 2):
        assert len(warnings) == 1
        assert "24-48h window, but fix forward is preferred" in warnings[0]
        assert "data-loss risk moderate" in warnings[0]
    else:
        assert warnings == []


def test_an_override_against_the_matrix_is_cautioned_with_its_reason():
    warnings = cautions(decide(72.0, 2, override=True, override_reason="approved by the data owner"))
    assert warnings == ["Rollback allowed by override against the matrix (48h+ window, scenario 2 major: "
                        "fix forward only): approved by the data owner"]


@pytest.mark.parametrize("hours, scenario, action", [
    (1.0, 1, "immediate rollback"),
    (12.0, 2, "rollback within 24 h"),
    (30.0, 2, "fix forward preferred"),
    (72.0, 1, "fix forward only"),
    (1.0, 3, "fix forward"),
])
def test_recommended_action(hours, scenario, action):
    assert decide(hours, scenario)["recommended_action"] == action


def test_override_allows_a_denied_cell_and_is_recorded():
    result = decide(72.0, 1, override=True, override_reason="  CEO approved; data since is test data ")
    assert result["rollback_allowed"] is True
    assert result["allowed_by_matrix"] is False
    assert result["overridden"] is True
    assert result["override_reason"] == "CEO approved; data since is test data"
    assert "Overridden by the operator: CEO approved" in result["reason"]


def test_override_on_an_allowed_cell_is_not_reported_as_overriding():
    result = decide(1.0, 1, override=True, override_reason="just in case")
    assert result["rollback_allowed"] is True
    assert result["overridden"] is False


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_override_without_reason_is_refused(reason):
    with pytest.raises(DecisionError, match="needs override_reason"):
        decide(72.0, 1, override=True, override_reason=reason)


def test_reason_is_one_line_with_the_numbers():
    reason = decide(1.5, 1)["reason"]
    assert "\n" not in reason
    assert reason.startswith("Deployed 1.5 h ago (0-2h window: rollback acceptable, data-loss risk minimal)")


def test_custom_windows_move_the_boundaries():
    windows = {"acceptable_until": 1, "critical_only_until": 12, "fix_forward_from": 24}
    assert decide(1.0, 2, windows=windows)["window"] == "2-24h"
    assert decide(12.0, 2, windows=windows)["rollback_allowed"] is False
    assert decide(24.0, 1, windows=windows)["window"] == "48h+"


@pytest.mark.parametrize("windows, message", [
    ({"acceptable_until": 0}, "positive and increasing"),
    ({"acceptable_until": 30}, "positive and increasing"),
    ({"critical_only_until": 48}, "positive and increasing"),
    ({"fix_forward_from": "soon"}, "not a number of hours"),
    ({"fix_fwd": 3}, "unknown key 'fix_fwd'"),
])
def test_bad_windows_are_refused(windows, message):
    with pytest.raises(DecisionError, match=message):
        normalize_windows(windows)


@pytest.mark.parametrize("value, number", [
    (1, 1), ("2", 2), ("critical", 1), ("MAJOR", 2), (" minor ", 3)])
def test_scenario_names_and_numbers(value, number):
    assert scenario_number(value) == number


@pytest.mark.parametrize("value", [0, 4, "severe", "", True, None])
def test_unknown_scenario_is_refused(value):
    with pytest.raises(DecisionError, match="use 1 \\(critical\\), 2 \\(major\\) or 3 \\(minor\\)"):
        scenario_number(value)


def test_most_severe_symptom_wins():
    assert scenario_from_symptoms(["typo", "feature_broken"]) == 2
    assert scenario_from_symptoms(["typo", "site_down", "feature_broken"]) == 1
    assert scenario_from_symptoms(["cosmetic"]) == 3


def test_unknown_symptom_lists_the_known_ones():
    with pytest.raises(DecisionError) as err:
        scenario_from_symptoms(["site_down", "aliens"])
    assert "'aliens'" in str(err.value)
    assert "site_down" in str(err.value) and "typo" in str(err.value)


def test_a_single_symptom_string_is_one_symptom():
    assert scenario_from_symptoms("site_down") == 1


def test_empty_symptoms_are_refused():
    with pytest.raises(DecisionError, match="at least one"):
        scenario_from_symptoms([])


def test_zones_are_honoured():
    assert parse_timestamp("2026-11-24T12:00:00+02:00") == parse_timestamp("2026-11-24T10:00:00Z")
    assert parse_timestamp("1795510800") == parse_timestamp("2026-11-24T09:00:00Z")
    assert parse_timestamp(1795510800.0) == parse_timestamp("2026-11-24T11:00:00+02:00")


@pytest.mark.parametrize("value, message", [
    ("2026-11-24T10:00:00", "has no time zone"),
    ("2026-11-24 10:00", "has no time zone"),
    ("yesterday at ten", "not an ISO 8601 time"),
    ("2026-13-01T00:00:00Z", "not an ISO 8601 time"),
    (True, "expected an ISO 8601 time"),
    (None, "expected an ISO 8601 time"),
    ("1e400", "not an ISO 8601 time"),
])
def test_bad_timestamps_are_refused(value, message):
    with pytest.raises(TimestampError, match=message):
        parse_timestamp(value, "deployed_at")


def test_future_deployment_beyond_skew_is_refused_small_skew_is_zero():
    now = parse_timestamp("2026-11-24T10:00:00Z")
    assert hours_between(now + datetime.timedelta(minutes=4), now) == 0.0
    with pytest.raises(DecisionError, match="in the future"):
        hours_between(now + datetime.timedelta(minutes=10), now)
