#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, runbooks.rollback developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: rollback_decision
short_description: Apply the runbook's rollback decision matrix
version_added: 0.1.0
description:
  - Decides whether a bad deployment may be rolled back, from the time since the deployment
    and the severity of the incident, as the rollback runbook's decision matrix does.
  - "Windows (hours since deployment, each [start, end)): 0-2h rollback acceptable (data-loss risk
    minimal), 2-24h rollback if critical (low), 24-48h fix forward preferred (moderate),
    48h+ fix forward only (high)."
  - "Scenarios: 1 critical = immediate rollback, 2 major = rollback within 24 h, 3 minor = fix forward."
  - "Rollback allowed: critical in 0-2h, 2-24h and 24-48h; major in 0-2h and 2-24h; minor never.
    O(override) with O(override_reason) allows any case and is reported as overridden."
  - "A critical rollback in the 24-48h window (fix forward preferred) and an override against the
    matrix are allowed with a warning in the log."
  - Never changes anything on the target.
author:
  - runbooks.rollback developers (@runbooks)
options:
  deployed_at:
    description:
      - When the bad deployment happened. ISO 8601 with a time zone (V(2026-11-24T10:00:00+00:00),
        V(2026-11-24T10:00:00Z)) or epoch seconds. A time without zone is refused.
    type: str
    required: true
  now:
    description:
      - The time to decide at, same formats as O(deployed_at). Defaults to the current UTC time.
    type: str
  scenario:
    description:
      - Severity of the incident, V(1)/V(critical), V(2)/V(major) or V(3)/V(minor).
      - Exactly one of O(scenario) and O(symptoms) is required.
    type: str
  symptoms:
    description:
      - Observed symptoms, mapped to the runbook's scenarios; the most severe (lowest scenario number) wins.
      - "Scenario 1, critical, immediate rollback: V(app_wont_start) (Application won't start),
        V(migrations_failed) (Database migrations failed), V(search_completely_broken) (Search completely
        broken), V(login_broken) (Unable to login)."
      - "Scenario 2, major, rollback within 24 h: V(podcasts_not_loading) (Podcasts not loading),
        V(course_search_broken) (Course search broken), V(performance_degraded) (Significant performance
        degradation), V(data_integrity_issues) (Data integrity issues)."
      - "Scenario 3, minor, fix forward: V(ui_glitches) (UI glitches), V(search_results_missing) (Some
        search results missing), V(non_critical_feature) (Non-critical features affected)."
      - "Older names taken as the runbook's symptom (the runbook's scenario wins): V(site_down) as
        V(app_wont_start), V(data_corruption) and V(data_loss) as V(data_integrity_issues) (scenario 2),
        V(cosmetic) as V(ui_glitches)."
      - "Not in the runbook's lists: V(security_breach) and V(error_rate_spike) (1), V(feature_broken),
        V(background_jobs_failing) and V(integration_failing) (2), V(minor_bug), V(typo) and V(slow_page) (3)."
      - "V(search_broken) is refused as ambiguous: name V(search_completely_broken),
        V(course_search_broken) or V(search_results_missing)."
    type: list
    elements: str
  override:
    description:
      - Allow the rollback whatever the matrix says. Requires O(override_reason).
    type: bool
    default: false
  override_reason:
    description:
      - Why the matrix is overridden; recorded in the result and the incident report.
    type: str
  windows:
    description:
      - Window boundaries in hours, positive and increasing.
    type: dict
    suboptions:
      acceptable_until:
        description: End of the "rollback acceptable" window.
        type: float
        default: 2
      critical_only_until:
        description: End of the "rollback if critical" window.
        type: float
        default: 24
      fix_forward_from:
        description: Start of the "fix forward only" window.
        type: float
        default: 48
  fail_on_denied:
    description:
      - Fail with the reason when the rollback is not allowed (and not overridden).
    type: bool
    default: false
extends_documentation_fragment:
  - runbooks.rollback.attributes
attributes:
  check_mode:
    description: Can run in check_mode and return the same decision.
    support: full
  diff_mode:
    description: Returns no diff; nothing is changed.
notes:
  - A deployment up to 5 minutes in the future is taken as clock skew (0 h); further is an error.
'''

EXAMPLES = r'''
- name: Decide whether the rollback may run
  runbooks.rollback.rollback_decision:
    deployed_at: "2026-11-24T09:30:00+00:00"
    scenario: critical
    fail_on_denied: true
  register: decision

- name: Decide from symptoms, with an explicit override
  runbooks.rollback.rollback_decision:
    deployed_at: 1795512600
    symptoms: [course_search_broken, ui_glitches]
    override: true
    override_reason: "Checkout broken for all EU customers; fix forward ETA unknown"
'''

RETURN = r'''
hours_since_deployment:
  description: Hours between O(deployed_at) and O(now), 2 decimals.
  returned: success
  type: float
  sample: 1.5
deployed_at:
  description: The deployment time, UTC.
  returned: success
  type: str
  sample: "2026-11-24T09:30:00Z"
now:
  description: The decision time, UTC.
  returned: success
  type: str
  sample: "2026-11-24T11:00:00Z"
window:
  description: The matrix row.
  returned: success
  type: str
  sample: "0-2h"
window_action:
  description: What the window alone says.
  returned: success
  type: str
  sample: rollback acceptable
data_loss_risk:
  description: Data-loss risk of a restore in this window.
  returned: success
  type: str
  sample: minimal
scenario:
  description: Scenario number.
  returned: success
  type: int
  sample: 1
scenario_name:
  description: Scenario name.
  returned: success
  type: str
  sample: critical
recommended_action:
  description: What to do.
  returned: success
  type: str
  sample: immediate rollback
rollback_allowed:
  description: Whether the rollback may run (by the matrix or by override).
  returned: success
  type: bool
  sample: true
allowed_by_matrix:
  description: Whether the matrix alone allows the rollback.
  returned: success
  type: bool
  sample: true
overridden:
  description: Whether an override turned a denial into an allowance.
  returned: success
  type: bool
  sample: false
override_reason:
  description: The operator's reason for the override.
  returned: success
  type: str
  sample: null
symptoms:
  description:
    - The symptoms given, each as the runbook has it, in the order given; empty when O(scenario) was given.
  returned: success
  type: list
  elements: dict
  contains:
    given:
      description: The name as given.
      type: str
      sample: site_down
    symptom:
      description: The runbook's slug it was taken as, or the extra symptom's name.
      type: str
      sample: app_wont_start
    scenario:
      description: The scenario this symptom indicates.
      type: int
      sample: 1
    runbook:
      description: The runbook's words for it; null for a symptom the runbook does not list.
      type: str
      sample: Application won't start
    description:
      description: The runbook's words, or the description of a symptom the runbook does not list.
      type: str
      sample: Application won't start
    taken_as:
      description: Set when an older name was taken as a runbook symptom, saying which.
      type: str
      sample: "site_down taken as the runbook's symptom \"Application won't start\" (app_wont_start, scenario 1)"
reason:
  description: One line for humans.
  returned: success, and in the failure of O(fail_on_denied=true)
  type: str
  sample: "Deployed 1.5 h ago (0-2h window: rollback acceptable, data-loss risk minimal); scenario 1 critical calls for
    immediate rollback: rollback allowed."
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.runbooks.rollback.plugins.module_utils.decision import (
    DecisionError, cautions, decide, describe_symptoms, hours_between, scenario_number)
from ansible_collections.runbooks.rollback.plugins.module_utils.timeutil import (
    TimestampError, isoformat, parse_timestamp, utcnow)


def run(params):
    """Compute the decision from module parameters; raises DecisionError/TimestampError."""
    deployed_at = parse_timestamp(params["deployed_at"], "deployed_at")
    now = parse_timestamp(params["now"], "now") if params["now"] is not None else utcnow()
    symptoms = []
    if params["scenario"] is not None:
        scenario = scenario_number(params["scenario"])
    else:
        symptoms = describe_symptoms(params["symptoms"])
        scenario = min(entry["scenario"] for entry in symptoms)
    hours = hours_between(deployed_at, now)
    windows = dict((k, v) for k, v in (params["windows"] or {}).items() if v is not None)
    result = decide(hours, scenario, params["override"], params["override_reason"], windows)
    if symptoms:
        result["reason"] += " Symptoms: %s." % "; ".join(
            "%s (scenario %d)" % (entry["description"], entry["scenario"]) for entry in symptoms)
    result.update(hours_since_deployment=round(hours, 2), deployed_at=isoformat(deployed_at),
                  now=isoformat(now), symptoms=symptoms)
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            deployed_at=dict(type="str", required=True),
            now=dict(type="str"),
            scenario=dict(type="str"),
            symptoms=dict(type="list", elements="str"),
            override=dict(type="bool", default=False),
            override_reason=dict(type="str"),
            windows=dict(type="dict", options=dict(
                acceptable_until=dict(type="float", default=2),
                critical_only_until=dict(type="float", default=24),
                fix_forward_from=dict(type="float", default=48),
            )),
            fail_on_denied=dict(type="bool", default=False),
        ),
        required_one_of=[("scenario", "symptoms")],
        mutually_exclusive=[("scenario", "symptoms")],
        required_if=[("override", True, ("override_reason",))],
        supports_check_mode=True,
    )
    try:
        result = run(module.params)
    except (DecisionError, TimestampError) as exc:
        module.fail_json(msg=str(exc))
    for warning in cautions(result):
        module.warn(warning)
    if module.params["fail_on_denied"] and not result["rollback_allowed"]:
        module.fail_json(msg=result["reason"] + " Set override=true with override_reason to proceed anyway.",
                         **result)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
