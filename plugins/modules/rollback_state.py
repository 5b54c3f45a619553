#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, runbooks.rollback developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: rollback_state
short_description: Record and read the phases of a rollback (its timeline and where to resume)
version_added: 0.1.0
description:
  - Keeps one JSON state file per rollback id on the target, O(state_dir)/O(rollback_id).json,
    written atomically with mode 0600 in a 0700 directory.
  - Each phase (decide, stop, database, code, ...) is recorded as V(started), then V(completed) or
    V(failed), with UTC times, the number of attempts, details (counts, paths) and the error. The
    incident report's timeline is read from it, and a re-run with the same rollback id skips the
    phases it lists as completed.
  - V(started) on a completed phase changes nothing and returns RV(previous_status=completed), so the
    caller can skip the phase. V(reset) forgets a phase, for example V(stop) after the rescue started
    the services again.
  - Without O(phase), only reads the state.
  - In check mode the new state is computed and returned but not written.
author:
  - runbooks.rollback developers (@runbooks)
options:
  rollback_id:
    description: The rollback's identifier (letters, digits, C(_), C(.), C(-)); names the file.
    type: str
    required: true
  state_dir:
    description: Directory of the state files; created with mode 0700 when missing.
    type: path
    default: /var/lib/runbooks-rollback
  phase:
    description: The phase to record (lower-case letters, digits, C(_)). Omit to read only.
    type: str
  status:
    description: What happened to O(phase).
    type: str
    choices: [started, completed, failed, reset]
    default: started
  note:
    description: What failed (with V(failed)), or a note on the event.
    type: str
  details:
    description: Facts about the phase merged into its record (counts, paths, commits).
    type: dict
    default: {}
  complete_first:
    description:
      - Record the end of earlier phases in the same write, before O(phase) (or before reading) - a dict,
        or a list of them in the order they ran, each with C(phase), its C(details), and optionally
        C(ended_at) (when it ended, ISO 8601 with zone, else the time of this write) and C(started_at)
        (when it started, for a phase whose start was carried too; a new attempt is recorded then, unless
        the phase is completed already). An item with C(started_at) and no C(ended_at) is the phase that
        was running, which a rescue writes before the failure; it is only started.
      - The phase scaffold carries phases' ends (and the starts of the phases in between) to the next
        phase's start this way while the site is down, one write and one round trip instead of several.
        A run that stops in between leaves the earlier phase C(started), or unrecorded when its start was
        carried, and retried on resume as any interrupted phase.
      - Ignored when null or empty.
    type: raw
  restored_since:
    description:
      - A time (ISO 8601 with zone, or epoch seconds), usually the deployment's. Returns in
        RV(other_restores) every other rollback in O(state_dir) whose database phase completed at
        or after it (restoring the backup again would discard what was written since that restore).
    type: str
extends_documentation_fragment:
  - runbooks.rollback.attributes
attributes:
  check_mode:
    description: The new state is computed and returned, not written.
    support: full
'''

EXAMPLES = r'''
- name: Record the start of the database phase
  runbooks.rollback.rollback_state:
    rollback_id: "{{ rollback_id }}"
    phase: database
    status: started
  register: phase_start

- name: Skip the phase when an earlier run completed it
  ansible.builtin.meta: end_play
  when: phase_start.previous_status == 'completed'

- name: Record the end of the database phase with what it did
  runbooks.rollback.rollback_state:
    rollback_id: "{{ rollback_id }}"
    phase: database
    status: completed
    details:
      restored_from: /backups/postgresql/open_discussions_20261124.dump

- name: Find other rollbacks that already restored the database since the deployment
  runbooks.rollback.rollback_state:
    rollback_id: "{{ rollback_id }}"
    restored_since: "{{ rollback_deployed_at }}"
  register: earlier_restores
  failed_when: earlier_restores.other_restores | length > 0

- name: Read the timeline
  runbooks.rollback.rollback_state:
    rollback_id: "{{ rollback_id }}"
  register: rollback_record
'''

RETURN = r'''
state_file:
  description: The state file.
  returned: always
  type: str
  sample: /var/lib/runbooks-rollback/20261124T103000.json
exists:
  description: Whether the state file existed before this call.
  returned: always
  type: bool
  sample: true
previous_status:
  description: Status of O(phase) before this call (null when the phase was not recorded).
  returned: when phase given
  type: str
  sample: completed
other_restores:
  description:
    - With O(restored_since), the other rollbacks whose database phase completed since then (C(rollback_id),
      C(state_file), C(restored_at), C(kept_db)); a state file that cannot be read is listed with its C(error).
  returned: when restored_since given
  type: list
  elements: dict
  sample: [{"rollback_id": "20261124T103000", "state_file": "/var/lib/runbooks-rollback/20261124T103000.json",
            "restored_at": "2026-11-24T10:31:12Z", "kept_db": "open_discussions_pre_rollback_20261124T103000",
            "error": null}]
completed_phases:
  description: Phases completed, in the order they first started.
  returned: always
  type: list
  elements: str
  sample: [decide, stop, database]
record:
  description:
    - The whole state after this call. C(phases) maps each phase to C(status), C(started_at),
      C(ended_at), C(attempts), C(details), C(error); C(order) lists phases in the order they first
      started; C(events) is the log of every change.
  returned: always
  type: dict
  sample: {"rollback_id": "20261124T103000", "created_at": "2026-11-24T10:30:00Z",
           "updated_at": "2026-11-24T10:31:12Z", "order": ["stop"],
           "phases": {"stop": {"status": "completed", "started_at": "2026-11-24T10:30:02Z",
                               "ended_at": "2026-11-24T10:30:40Z", "attempts": 1, "details": {}, "error": null}},
           "events": [{"at": "2026-11-24T10:30:02Z", "phase": "stop", "status": "started"}]}
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.runbooks.rollback.plugins.module_utils.state import (
    StateError, apply, apply_carried, completed, load, new_state, state_path, write, check_phase, restores_since,
)
from ansible_collections.runbooks.rollback.plugins.module_utils.timeutil import (
    TimestampError, parse_timestamp, utcnow,
)


def run(params, check_mode):
    path = state_path(params["state_dir"], params["rollback_id"])
    current = load(path, params["rollback_id"])
    exists = current is not None
    now = utcnow()
    state = current if exists else new_state(params["rollback_id"], now)
    result = {"state_file": path, "exists": exists, "changed": False}
    updated = state
    updated = apply_carried(updated, params.get("complete_first"), now)
    if params["phase"] is not None:
        check_phase(params["phase"])
        record = updated["phases"].get(params["phase"])
        result["previous_status"] = record["status"] if record else None
        updated = apply(updated, params["phase"], params["status"], now, params["note"], params["details"])
    if updated != state:
        result["changed"] = True
        state = updated
        if not check_mode:
            write(path, state)
    result["record"] = state
    result["completed_phases"] = completed(state)
    if params["restored_since"]:
        since = parse_timestamp(params["restored_since"], "restored_since")
        result["other_restores"] = restores_since(params["state_dir"], since, params["rollback_id"])
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            rollback_id=dict(type="str", required=True),
            state_dir=dict(type="path", default="/var/lib/runbooks-rollback"),
            phase=dict(type="str"),
            status=dict(type="str", default="started", choices=["started", "completed", "failed", "reset"]),
            note=dict(type="str"),
            details=dict(type="dict", default={}),
            restored_since=dict(type="str"),
            complete_first=dict(type="raw"),
        ),
        supports_check_mode=True,
    )
    try:
        result = run(module.params, module.check_mode)
    except (StateError, TimestampError) as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
