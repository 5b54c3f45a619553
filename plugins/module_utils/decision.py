# -*- coding: utf-8 -*-
# Copyright: (c) 2026, runbooks.rollback developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The runbook's rollback decision matrix, as a pure function.

Windows (hours since the deployment, each ``[start, end)``; boundaries configurable):

=========  ======================  ==============
window     window action           data-loss risk
=========  ======================  ==============
0-2h       rollback acceptable     minimal
2-24h      rollback if critical    low
24-48h     fix forward preferred   moderate
48h+       fix forward only        high
=========  ======================  ==============

Scenarios: 1 critical = immediate rollback, 2 major = rollback within 24 h,
3 minor = fix forward.

Rollback allowed (without override):

==========  ====  =====  ======  ====
scenario    0-2h  2-24h  24-48h  48h+
==========  ====  =====  ======  ====
1 critical  yes   yes    yes     no
2 major     yes   yes    no      no
3 minor     no    no     no      no
==========  ====  =====  ======  ====

A critical incident may still be rolled back in the 24-48h window (fix forward is only
preferred there); from 48 h the data written since makes a restore too costly: fix forward
only. ``override`` with a reason allows any cell and is recorded as such.
``cautions()`` names the two allowed cases an operator should be warned about: a critical
rollback in the 24-48h window, and an override against the matrix.
"""

from __future__ import absolute_import, division, print_function, annotations
__metaclass__ = type

import datetime
from typing import Any, Dict, Iterable, List, Mapping, Optional, Union

DEFAULT_WINDOWS = {"acceptable_until": 2.0, "critical_only_until": 24.0, "fix_forward_from": 48.0}
CLOCK_SKEW_TOLERANCE_HOURS = 5.0 / 60.0

WINDOWS = (
    # label, window action, data-loss risk
    ("0-2h", "rollback acceptable", "minimal"),
    ("2-24h", "rollback if critical", "low"),
    ("24-48h", "fix forward preferred", "moderate"),
    ("48h+", "fix forward only", "high"),
)

SCENARIOS = {
    1: ("critical", "immediate rollback"),
    2: ("major", "rollback within 24 h"),
    3: ("minor", "fix forward"),
}
SCENARIO_NAMES = dict((name, number) for number, (name, _action) in SCENARIOS.items())

# Highest window index (0..3) in which each scenario may roll back.
ALLOWED_UP_TO_WINDOW = {1: 2, 2: 1, 3: -1}

# The runbook's symptoms (ROLLBACK_PLAN.md, "Rollback Scenarios"), in its order and words.
RUNBOOK_SYMPTOMS = {
    "app_wont_start": (1, "Application won't start"),
    "migrations_failed": (1, "Database migrations failed"),
    "search_completely_broken": (1, "Search completely broken"),
    "login_broken": (1, "Unable to login"),
    "podcasts_not_loading": (2, "Podcasts not loading"),
    "course_search_broken": (2, "Course search broken"),
    "performance_degraded": (2, "Significant performance degradation"),
    "data_integrity_issues": (2, "Data integrity issues"),
    "ui_glitches": (3, "UI glitches"),
    "search_results_missing": (3, "Some search results missing"),
    "non_critical_feature": (3, "Non-critical features affected"),
}

# Older names that mean one of the runbook's symptoms: they are taken as it, with its scenario
# (where the old mapping disagreed with the runbook, the runbook wins).
SYMPTOM_ALIASES = {
    "site_down": "app_wont_start",
    "data_corruption": "data_integrity_issues",
    "data_loss": "data_integrity_issues",
    "cosmetic": "ui_glitches",
}

# Symptoms the runbook does not list, with the scenario they indicate and a description (the
# result adds "(not in the runbook's lists)").
EXTRA_SYMPTOMS = {
    "security_breach": (1, "Security breach"),
    "error_rate_spike": (1, "Error rate spike"),
    "feature_broken": (2, "A major feature broken"),
    "background_jobs_failing": (2, "Background jobs failing"),
    "integration_failing": (2, "An integration failing"),
    "minor_bug": (3, "A minor bug"),
    "typo": (3, "A typo"),
    "slow_page": (3, "One slow page"),
}

# Names that could mean several runbook symptoms of different scenarios: refused, with the choices.
AMBIGUOUS_SYMPTOMS = {
    "search_broken": ("search_completely_broken", "course_search_broken", "search_results_missing"),
}


class DecisionError(ValueError):
    """Input the matrix cannot decide on; the message says what to fix."""


def normalize_windows(windows: Optional[Mapping[str, Any]] = None) -> Dict[str, float]:
    """Return validated window boundaries (hours), filling defaults."""
    merged = dict(DEFAULT_WINDOWS)
    for key, value in (windows or {}).items():
        if key not in DEFAULT_WINDOWS:
            raise DecisionError("windows: unknown key %r; known keys: %s"
                                % (key, ", ".join(sorted(DEFAULT_WINDOWS))))
        try:
            merged[key] = float(value)
        except (TypeError, ValueError):
            raise DecisionError("windows.%s: %r is not a number of hours" % (key, value))
    bounds = [merged["acceptable_until"], merged["critical_only_until"], merged["fix_forward_from"]]
    if bounds[0] <= 0 or not bounds[0] < bounds[1] < bounds[2]:
        raise DecisionError("windows must be positive and increasing "
                            "(acceptable_until < critical_only_until < fix_forward_from), got %s"
                            % ", ".join("%s=%g" % (k, merged[k]) for k in
                                        ("acceptable_until", "critical_only_until", "fix_forward_from")))
    return merged


def window_index(hours: float, windows: Mapping[str, float]) -> int:
    """Index into WINDOWS for hours since deployment; each window is [start, end)."""
    if hours < windows["acceptable_until"]:
        return 0
    if hours < windows["critical_only_until"]:
        return 1
    if hours < windows["fix_forward_from"]:
        return 2
    return 3


def scenario_number(scenario: Union[int, str]) -> int:
    """1/2/3 from an int, a digit string or critical/major/minor."""
    if isinstance(scenario, bool):
        scenario = str(scenario)
    text = str(scenario).strip().lower()
    if text in SCENARIO_NAMES:
        return SCENARIO_NAMES[text]
    if text in ("1", "2", "3"):
        return int(text)
    raise DecisionError("scenario %r is unknown; use 1 (critical), 2 (major) or 3 (minor)" % (scenario,))


def _choices(names: Iterable[str]) -> str:
    return ", ".join("%s (%s, scenario %d)" % (name, RUNBOOK_SYMPTOMS[name][1], RUNBOOK_SYMPTOMS[name][0])
                     for name in names)


def describe_symptoms(symptoms: Iterable[str]) -> List[Dict[str, Any]]:
    """Each observed symptom as the runbook has it, in the order given.

    Every entry: ``given`` (the name as given), ``symptom`` (the runbook's slug, or the extra
    name), ``scenario``, ``runbook`` (the runbook's words, or None for an extra symptom),
    ``description`` (the runbook's words or the extra's) and ``taken_as`` (a sentence when an
    older name was taken as a runbook symptom, else None).  Unknown and ambiguous names are
    refused all at once, with what to use instead.
    """
    symptoms = [symptoms] if isinstance(symptoms, str) else list(symptoms or [])
    if not symptoms:
        raise DecisionError("symptoms is empty; name at least one observed symptom or give scenario")
    problems = []
    described = []
    for given in symptoms:
        name = str(given).strip().lower()
        if name in AMBIGUOUS_SYMPTOMS:
            problems.append("symptom %r is ambiguous: the runbook has %s; name the one you see"
                            % (given, _choices(AMBIGUOUS_SYMPTOMS[name])))
            continue
        slug = SYMPTOM_ALIASES.get(name, name)
        if slug in RUNBOOK_SYMPTOMS:
            number, words = RUNBOOK_SYMPTOMS[slug]
            description = words
        elif slug in EXTRA_SYMPTOMS:
            number, description = EXTRA_SYMPTOMS[slug]
            words, description = None, description + " (not in the runbook's lists)"
        else:
            problems.append("unknown symptom %r" % (given,))
            continue
        taken_as = None
        if slug != name:
            taken_as = ("%s taken as the runbook's symptom \"%s\" (%s, scenario %d)"
                        % (name, words, slug, number))
        described.append({"given": str(given), "symptom": slug, "scenario": number, "runbook": words,
                          "description": description, "taken_as": taken_as})
    if problems:
        raise DecisionError("%s. The runbook's symptoms: %s. Also accepted: %s."
                            % ("; ".join(problems), _choices(RUNBOOK_SYMPTOMS),
                               ", ".join(sorted(list(SYMPTOM_ALIASES) + list(EXTRA_SYMPTOMS)))))
    return described


def scenario_from_symptoms(symptoms: Iterable[str]) -> int:
    """The most severe scenario (lowest number) among observed symptoms."""
    return min(entry["scenario"] for entry in describe_symptoms(symptoms))


def decide(hours: float, scenario: int, override: bool = False, override_reason: Optional[str] = None,
           windows: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    """Apply the matrix. ``hours`` since deployment (>= 0), ``scenario`` 1/2/3.

    Returns a dict: window, window_action, data_loss_risk, scenario, scenario_name,
    recommended_action, rollback_allowed, overridden, override_reason, reason.
    """
    bounds = normalize_windows(windows)
    if hours < 0:
        raise DecisionError("hours since deployment is negative (%g): the deployment is in the future"
                            % hours)
    if override and not (override_reason or "").strip():
        raise DecisionError("override=true needs override_reason: say why the matrix is overridden "
                            "(it goes into the incident report)")
    index = window_index(hours, bounds)
    label, window_action, risk = WINDOWS[index]
    name, scenario_action = SCENARIOS[scenario]
    allowed_by_matrix = index <= ALLOWED_UP_TO_WINDOW[scenario]
    if allowed_by_matrix:
        recommended = scenario_action
    elif scenario == 3:
        recommended = "fix forward"
    else:
        recommended = window_action if index >= 2 else "fix forward"
    verdict = "rollback allowed" if allowed_by_matrix else "rollback denied"
    reason = ("Deployed %.1f h ago (%s window: %s, data-loss risk %s); scenario %d %s calls for %s: %s."
              % (hours, label, window_action, risk, scenario, name, scenario_action, verdict))
    overridden = bool(override) and not allowed_by_matrix
    if overridden:
        reason += " Overridden by the operator: %s" % override_reason.strip()
    return {
        "window": label,
        "window_action": window_action,
        "data_loss_risk": risk,
        "scenario": scenario,
        "scenario_name": name,
        "recommended_action": recommended,
        "rollback_allowed": allowed_by_matrix or bool(override),
        "allowed_by_matrix": allowed_by_matrix,
        "overridden": overridden,
        "override_reason": (override_reason or "").strip() or None,
        "reason": reason,
    }


def hours_between(deployed_at: datetime.datetime, now: datetime.datetime) -> float:
    """Hours from deployed_at to now; small negative skew is treated as 0."""
    hours = (now - deployed_at).total_seconds() / 3600.0
    if hours < 0:
        if -hours <= CLOCK_SKEW_TOLERANCE_HOURS:
            return 0.0
        raise DecisionError("deployed_at %s is %.1f h in the future of now %s: check the clocks and the "
                            "time zone given" % (deployed_at.isoformat(), -hours, now.isoformat()))
    return hours


def cautions(decision: Mapping[str, Any]) -> List[str]:
    """Warnings an operator should see next to an allowed rollback (empty when none).

    A critical incident in the 24-48h window is allowed, but fix forward is preferred
    there and a day or more of writes is at stake; an override is allowed against the
    matrix.  Both are said out loud in the log, not only in ``reason``.
    """
    warnings = []
    if decision["allowed_by_matrix"] and decision["window"] == WINDOWS[2][0]:
        warnings.append("Rollback allowed for a %s incident in the %s window, but fix forward is preferred "
                        "there (data-loss risk %s): export the rows written since the deployment before "
                        "restoring." % (decision["scenario_name"], decision["window"], decision["data_loss_risk"]))
    if decision["overridden"]:
        warnings.append("Rollback allowed by override against the matrix (%s window, scenario %d %s: %s): %s"
                        % (decision["window"], decision["scenario"], decision["scenario_name"],
                           decision["window_action"], decision["override_reason"]))
    return warnings
