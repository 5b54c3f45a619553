"""The decision matrix as a pure function: every boundary and every cell."""
from __future__ import annotations

import datetime

import pytest

from ansible_collections.runbooks.rollback.plugins.module_utils.decision import (
    RUNBOOK_SYMPTOMS, DecisionError, cautions, decide, describe_symptoms, hours_between, normalize_windows,
    scenario_from_symptoms, scenario_number)
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


# The runbook's scenarios, verbatim from ROLLBACK_PLAN.md ("Rollback Scenarios").
RUNBOOK = [
    ("app_wont_start", 1, "Application won't start"),
    ("migrations_failed", 1, "Database migrations failed"),
    ("search_completely_broken", 1, "Search completely broken"),
    ("login_broken", 1, "Unable to login"),
    ("podcasts_not_loading", 2, "Podcasts not loading"),
    ("course_search_broken", 2, "Course search broken"),
    ("performance_degraded", 2, "Significant performance degradation"),
    ("data_integrity_issues", 2, "Data integrity issues"),
    ("ui_glitches", 3, "UI glitches"),
    ("search_results_missing", 3, "Some search results missing"),
    ("non_critical_feature", 3, "Non-critical features affected"),
]


@pytest.mark.parametrize("slug, scenario, words", RUNBOOK)
def test_every_runbook_symptom_maps_to_its_runbook_scenario_and_words(slug, scenario, words):
    [entry] = describe_symptoms([slug])
    assert entry == {"given": slug, "symptom": slug, "scenario": scenario, "runbook": words,
                     "description": words, "taken_as": None}
    assert scenario_from_symptoms([slug]) == scenario


def test_the_runbook_symptoms_are_exactly_the_runbooks():
    assert [(slug, number, words) for slug, (number, words) in RUNBOOK_SYMPTOMS.items()] == RUNBOOK


@pytest.mark.parametrize("symptoms, scenario", [
    (["ui_glitches", "search_completely_broken"], 1),
    (["podcasts_not_loading", "migrations_failed"], 1),
    (["non_critical_feature", "login_broken", "course_search_broken"], 1),
    (["search_results_missing", "data_integrity_issues"], 2),
    (["performance_degraded", "ui_glitches"], 2),
    (["ui_glitches", "non_critical_feature"], 3),
    (["typo", "feature_broken"], 2),
    (["typo", "site_down", "feature_broken"], 1),
])
def test_the_most_severe_symptom_decides(symptoms, scenario):
    assert scenario_from_symptoms(symptoms) == scenario


@pytest.mark.parametrize("old, slug, scenario", [
    ("site_down", "app_wont_start", 1),
    ("data_corruption", "data_integrity_issues", 2),
    ("data_loss", "data_integrity_issues", 2),
    ("cosmetic", "ui_glitches", 3),
])
def test_an_older_name_is_taken_as_the_runbook_symptom_and_says_so(old, slug, scenario):
    [entry] = describe_symptoms([old])
    assert entry["given"] == old and entry["symptom"] == slug and entry["scenario"] == scenario
    assert entry["runbook"] == RUNBOOK_SYMPTOMS[slug][1]
    assert entry["taken_as"] == "%s taken as the runbook's symptom \"%s\" (%s, scenario %d)" % (
        old, RUNBOOK_SYMPTOMS[slug][1], slug, scenario)


def test_data_corruption_follows_the_runbook_not_the_old_mapping():
    # The runbook lists "Data integrity issues" under scenario 2: a rollback 30 h after the
    # deployment is then denied, where the old mapping (critical) allowed it.
    scenario = scenario_from_symptoms(["data_corruption"])
    assert scenario == 2
    assert decide(30, scenario)["rollback_allowed"] is False


def test_a_symptom_the_runbook_does_not_list_keeps_its_scenario_and_has_no_runbook_words():
    [entry] = describe_symptoms(["security_breach"])
    assert entry["scenario"] == 1 and entry["runbook"] is None and entry["taken_as"] is None
    assert "not in the runbook" in entry["description"]


def test_search_broken_is_refused_naming_the_three_search_symptoms():
    with pytest.raises(DecisionError) as err:
        scenario_from_symptoms(["search_broken"])
    message = str(err.value)
    assert "'search_broken' is ambiguous" in message
    for slug, words in (("search_completely_broken", "Search completely broken"),
                        ("course_search_broken", "Course search broken"),
                        ("search_results_missing", "Some search results missing")):
        assert "%s (%s" % (slug, words) in message


def test_symptom_names_ignore_case_and_spaces_around():
    assert describe_symptoms([" UI_Glitches "])[0]["symptom"] == "ui_glitches"


def test_unknown_symptom_lists_the_known_ones():
    with pytest.raises(DecisionError) as err:
        scenario_from_symptoms(["site_down", "aliens", "search_broken"])
    message = str(err.value)
    assert "unknown symptom 'aliens'" in message and "'search_broken' is ambiguous" in message
    assert "app_wont_start (Application won't start, scenario 1)" in message
    assert "site_down" in message and "typo" in message


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
