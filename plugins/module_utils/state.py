# -*- coding: utf-8 -*-
# Copyright: (c) 2026, runbooks.rollback developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The state file of one rollback: which phases started, completed or failed, and when.

One JSON file per rollback id, written atomically (temporary file + rename) with mode
0600 in a 0700 directory.  It is the timeline of the incident report and what a re-run
reads to resume: a completed phase is not done again, a failed one is retried.
"""

from __future__ import absolute_import, division, print_function, annotations
__metaclass__ = type

import copy
import datetime
import json
import os
import re
from typing import Any, Dict, List, Optional

from ansible_collections.runbooks.rollback.plugins.module_utils.private_file import private_directory, write_atomic
from ansible_collections.runbooks.rollback.plugins.module_utils.timeutil import isoformat, parse_timestamp

STATUSES = ("started", "completed", "failed", "reset")
ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
PHASE_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
FORMAT_VERSION = 1


class StateError(Exception):
    """The state file cannot be used; the message names the file and what to do."""


def check_id(rollback_id: str) -> None:
    if not ID_RE.match(rollback_id or ""):
        raise StateError("rollback_id %r is not usable in a file name: letters, digits, '_', '.', '-' "
                         "(up to 128, starting with a letter or digit), e.g. 20261124T103000" % (rollback_id,))


def check_phase(phase: str) -> None:
    if not PHASE_RE.match(phase or ""):
        raise StateError("phase %r is not a phase name: lower-case letters, digits and '_', starting "
                         "with a letter (e.g. stop, database, code)" % (phase,))


def state_path(directory: str, rollback_id: str) -> str:
    check_id(rollback_id)
    return os.path.join(directory, rollback_id + ".json")


def new_state(rollback_id: str, now: datetime.datetime) -> Dict[str, Any]:
    return {"format": FORMAT_VERSION, "rollback_id": rollback_id, "created_at": isoformat(now),
            "updated_at": isoformat(now), "phases": {}, "order": [], "events": []}


def load(path: str, rollback_id: str) -> Optional[Dict[str, Any]]:
    """The state in path, or None when there is none yet."""
    try:
        with open(path, "r", encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StateError("cannot read the rollback state %s: %s; check its owner and mode (0600, "
                         "the user running the playbook) or pass state_dir" % (path, exc))
    try:
        state = json.loads(text)
    except ValueError as exc:
        raise StateError("the rollback state %s is not valid JSON (%s); it was damaged: move it away to "
                         "start this rollback's record again, or pass another rollback_id" % (path, exc))
    if not isinstance(state, dict) or not isinstance(state.get("phases"), dict) \
            or state.get("rollback_id") != rollback_id:
        raise StateError("%s is not the state file of rollback %s; move it away or pass the "
                         "rollback_id it belongs to" % (path, rollback_id))
    return state


def apply(state: Dict[str, Any], phase: str, status: str, now: datetime.datetime,
          message: Optional[str] = None, details: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """Return a new state with the phase moved to status (the input is not modified).

    started    a new attempt (a completed phase stays completed: the caller skips it)
    completed  the phase's end; its details are merged
    failed     the attempt's end, with the error message
    reset      forget the phase (e.g. services were started again by the rescue, so
               "stop" must be done again on the next run)
    """
    check_phase(phase)
    if status not in STATUSES:
        raise StateError("status %r is not one of %s" % (status, ", ".join(STATUSES)))
    new = copy.deepcopy(state)
    stamp = isoformat(now)
    record = new["phases"].get(phase)
    if status == "started":
        if record is not None and record["status"] == "completed":
            return new
        attempts = (record or {}).get("attempts", 0) + 1
        new["phases"][phase] = {"status": "started", "started_at": stamp, "ended_at": None,
                                "attempts": attempts, "details": (record or {}).get("details", {}),
                                "error": None}
        if phase not in new["order"]:
            new["order"].append(phase)
    elif status in ("completed", "failed"):
        if record is None:
            record = {"status": None, "started_at": stamp, "attempts": 1, "details": {}, "error": None}
            new["order"].append(phase)
        elif record["status"] == status == "completed":
            if details:
                record = dict(record, details=dict(record.get("details") or {}, **details))
                new["phases"][phase] = record
            return new
        record = dict(record, status=status, ended_at=stamp,
                      error=message if status == "failed" else None)
        if details:
            record["details"] = dict(record.get("details") or {}, **details)
        new["phases"][phase] = record
    else:
        if record is None:
            return new
        del new["phases"][phase]
        new["order"] = [name for name in new["order"] if name != phase]
    event = {"at": stamp, "phase": phase, "status": status}
    if message:
        event["message"] = message
    new["events"].append(event)
    new["updated_at"] = stamp
    return new


def carried_ends(value: Any) -> List[Dict[str, Any]]:
    """complete_first as a list of {phase, details, started_at, ended_at} (a dict is one; null, none)."""
    if not value:
        return []
    items = [value] if isinstance(value, dict) else value
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise StateError("complete_first must be a dict or a list of dicts (phase, details, started_at, ended_at), "
                         "not %r" % (value,))
    items = [item for item in items if item.get("phase")]
    for item in items:
        check_phase(item["phase"])
        unknown = sorted(set(item) - {"phase", "details", "started_at", "ended_at"})
        if unknown:
            raise StateError("complete_first has unknown keys %s for phase %s: use phase, details, started_at, "
                             "ended_at" % (", ".join(unknown), item["phase"]))
        if not isinstance(item.get("details") or {}, dict):
            raise StateError("complete_first.details must be a dict, not %r" % (item["details"],))
    return items


def apply_carried(state: Dict[str, Any], carried: Any, now: datetime.datetime) -> Dict[str, Any]:
    """The state with the carried phases applied in order: each one's start when it has
    ``started_at`` (a start carried too), then its end at ``ended_at`` (else ``now``) with its details.
    A start without an end (``started_at`` only: the phase that was running, written by a rescue or
    by its own end record) is only started."""
    for item in carried_ends(carried):
        if item.get("started_at"):
            state = apply(state, item["phase"], "started", parse_timestamp(item["started_at"], "complete_first.started_at"))
            if not item.get("ended_at"):
                continue
        ended = parse_timestamp(item["ended_at"], "complete_first.ended_at") if item.get("ended_at") else now
        state = apply(state, item["phase"], "completed", ended, None, item.get("details") or {})
    return state


def completed(state: Dict[str, Any]) -> List[str]:
    return [name for name in state["order"] if state["phases"][name]["status"] == "completed"]


def write(path: str, state: Dict[str, Any]) -> None:
    """Write atomically, 0600, creating the directory 0700 when missing."""
    directory = os.path.dirname(path)
    try:
        private_directory(directory)
        write_atomic(path, json.dumps(state, indent=2, sort_keys=True) + "\n", prefix=".state-")
    except OSError as exc:
        raise StateError("cannot write the rollback state in %s: %s; create it (0700) for the user "
                         "running the playbook, free space in it, or pass state_dir" % (directory, exc))


def restores_since(directory: str, since: datetime.datetime, exclude: str) -> List[Dict[str, Any]]:
    """Other rollbacks in directory whose database phase completed at or after since.

    A damaged or foreign file is reported with its error instead of being skipped silently: the
    caller refuses to restore again over what such a rollback may have restored.
    """
    found = []
    try:
        names = sorted(os.listdir(directory))
    except FileNotFoundError:
        return found
    except OSError as exc:
        raise StateError("cannot list the rollback states in %s: %s" % (directory, exc))
    for name in names:
        rollback_id = name[:-len(".json")]
        if not name.endswith(".json") or rollback_id == exclude or not ID_RE.match(rollback_id):
            continue
        path = os.path.join(directory, name)
        try:
            state = load(path, rollback_id)
        except StateError as exc:
            found.append({"rollback_id": rollback_id, "state_file": path, "restored_at": None, "error": str(exc)})
            continue
        record = (state or {}).get("phases", {}).get("database") or {}
        ended = record.get("ended_at")
        if record.get("status") != "completed" or not ended:
            continue
        if parse_timestamp(ended, "ended_at") >= since:
            found.append({"rollback_id": rollback_id, "state_file": path, "restored_at": ended,
                          "kept_db": (record.get("details") or {}).get("kept_db"), "error": None})
    return found
