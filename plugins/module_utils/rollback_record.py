# -*- coding: utf-8 -*-
# Copyright: (c) 2026, runbooks.rollback developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one reader of a rollback's record (the state file, module_utils/state.py): a phase as a dict
whose keys are always there.

``PHASE_DETAILS`` declares, for every phase, the keys its playbook writes in ``phase_details`` and the
value a reader gets when the key is missing (the phase never ran, failed before its end, or an older
record). A playbook reads another phase's details only through ``phase()`` (the filter
runbooks.rollback.rollback_phase), so a key read is a key declared; a test holds the playbooks'
``phase_details`` to these keys.
"""

from __future__ import absolute_import, division, print_function, annotations
__metaclass__ = type

import copy
from collections.abc import Mapping
from typing import Any, Dict

# Each phase's details and their defaults. A default is what the readers took for a missing key before
# there was a reader ('' where they read ``| default('')``, None where they read ``.get(key)``), so
# reading through here changes no value.
PHASE_DETAILS: Dict[str, Dict[str, Any]] = {
    "decide": {
        # decision_result (rollback_decision), the keys it returned.
        "deployed_at": None, "hours_since_deployment": None, "window": None, "window_action": None,
        "data_loss_risk": None, "scenario": None, "scenario_name": None, "recommended_action": None,
        "rollback_allowed": None, "overridden": None, "override_reason": None, "reason": None,
        "symptoms": None,
        # full, db or code.
        "scope": None,
        # When the decision was taken: the start of the rollback for the reports and the log scan.
        "started_at": None,
        # The backup the checklist verified, the commit deployed, the backup's migrations against the
        # target code's, the start notices, the active sessions.
        "backup_file": None, "deployed_commit": None, "migrations": None, "notices": None, "sessions": None,
    },
    "restore_ahead": {
        "backup_file": "",
        # The scratch database the backup was restored into.
        "scratch_db": "",
        # Restored and verified, not yet swapped in (the database phase swaps it in as is).
        "prepared": False,
    },
    "build_ahead": {
        "layout": None, "release": None, "reused": False, "commit_after": None,
        # The database restored ahead that the release was migrated with ('' when none was).
        "migrated_db": "",
        "hosts": [],
    },
    "stop": {
        "maintenance_mode": None,
        # When the maintenance page went on: the incident report's downtime starts there.
        "maintenance_on_at": None,
    },
    "database": {
        "backup_file": "", "loss_counts": {}, "loss_total": 0, "loss_since": None,
        "export_dir": "", "dump_file": "",
        # The dump was left to the verify phase (made from kept_db once the site serves again).
        "dump_deferred": False,
        "export_moved_aside": False, "dump_moved_aside": False,
        # The name the database from before the rollback is kept under.
        "kept_db": "",
        "already_swapped": False,
        # The copy restored ahead (phase restore_ahead) was swapped in.
        "restored_ahead": False,
    },
    "code": {
        "method": None, "target": None, "branch": None,
        # The release rolled back from (marked bad by verify) and the one rolled back to.
        "commit_before": "", "commit_after": "",
        "built_ahead": False, "switched_to": None, "replaced": None, "hosts": [],
    },
    "recover_data": {
        "inserted": {}, "total_inserted": 0, "total_already_present": 0, "total_skipped": 0, "conflicts": [],
    },
    "start": {
        "migrations": 0,
        # The database swapped in was migrated by the build ahead: no migration while the site was down.
        "migrated_ahead": False,
        "celery": {},
    },
    "verify": {"smoke": [], "bad_release": None, "dump": None, "log_errors": 0},
    "search": {"command": None, "results": {}},
    "monitor": {
        "error_rate": None, "probes": None, "failures": None, "response_ms": None, "trend": None,
        "sessions": None, "summary": None,
    },
}

# The keys of every phase returned by phase(), besides ``details``.
PHASE_KEYS = ("phase", "status", "started_at", "ended_at", "completed_at", "attempts", "error")


class RecordError(Exception):
    """The record or the phase asked for cannot be read; the message says which and why."""


def phase(record: Any, name: str) -> Dict[str, Any]:
    """The phase ``name`` of ``record`` (the ``record`` rollback_state returns), every key present:

    phase         the name
    status        started, completed or failed; None when the phase never ran
    started_at    its last attempt's start (UTC, ``%Y-%m-%dT%H:%M:%SZ``); None when it never ran
    ended_at      its end or failure; None while it runs or when it never ran
    completed_at  ended_at when the phase completed, else '' (e.g. exports saved since the stop completed)
    attempts      0 when it never ran
    error         the failure's message; None unless it failed
    details       PHASE_DETAILS[name] with the recorded values over the defaults (and any other key recorded)
    """
    if name not in PHASE_DETAILS:
        raise RecordError("unknown phase %r: one of %s; a new phase declares its details in "
                          "plugins/module_utils/rollback_record.py (PHASE_DETAILS)" % (name, ", ".join(PHASE_DETAILS)))
    if not isinstance(record, Mapping) or not isinstance(record.get("phases"), Mapping):
        raise RecordError("the input must be the record runbooks.rollback.rollback_state returns (a dict with "
                          "phases), not %s" % (type(record).__name__,))
    found = record["phases"].get(name) or {}
    status = found.get("status")
    details = copy.deepcopy(PHASE_DETAILS[name])
    details.update(found.get("details") or {})
    return {
        "phase": name,
        "status": status,
        "started_at": found.get("started_at"),
        "ended_at": found.get("ended_at"),
        "completed_at": found.get("ended_at", "") if status == "completed" else "",
        "attempts": found.get("attempts", 0),
        "error": found.get("error"),
        "details": details,
    }
