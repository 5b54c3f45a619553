#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, runbooks.rollback developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: rollback_audit
short_description: Append one line per rollback run to the audit log (who rolled back what, when, at what cost)
version_added: 0.1.0
description:
  - Appends one JSON object, on one line, to an append-only audit log on the state host, usually
    C(<state_dir>/audit.jsonl). Every run is recorded once, whatever its end - completed, refused by
    the decision, failed in a phase, or run in check mode.
  - The line holds exactly these keys (sorted), null when not known - C(format) (1), C(rollback_id),
    C(at), C(who), C(environment), C(check_mode), C(outcome), C(failed_phase), C(error), C(decision),
    C(scope), C(phases), C(from_commit), C(to_commit), C(backup_file), C(backup_sha256), C(rows_lost),
    C(rows_reimported), C(rows_conflicting), C(started_at), C(ended_at). Nothing else from O(record)
    reaches the log (so no password a phase recorded can), and every string is cut to 500 characters.
  - The file is opened for appending only (never rewritten or truncated) with mode 0600, its directory
    created with mode 0700 when missing. A symbolic link or anything but a regular file at O(path) is
    refused; a mode wider than 0600 is tightened to 0600, with a warning. The line is written with one
    write and synced to disk.
  - Missing data (an empty O(record), a phase that did not run) is recorded as null, never an error.
  - Call it with C(check_mode=false) on the task so that a check-mode rollback is recorded too, with
    O(check_mode_run=true).
author:
  - runbooks.rollback developers (@runbooks)
options:
  path:
    description: The audit log file, usually C(<state_dir>/audit.jsonl); created (0600) when missing.
    type: path
    required: true
  record:
    description:
      - The rollback's state as M(runbooks.rollback.rollback_state) returns it in RV(runbooks.rollback.rollback_state#module:record).
      - Read from it - the phases in order, C(created_at) (C(started_at)), the decide phase's decision,
        C(scope) and C(backup_file), the code phase's C(commit_before) and C(commit_after), the database
        phase's C(backup_file) and C(loss_total), restore_ahead's C(backup_file), recover_data's
        C(total_inserted) and C(total_skipped). Nothing else of it is written.
      - May be empty (the state could not be read).
    type: dict
    default: {}
  rollback_id:
    description: The rollback's identifier.
    type: str
    required: true
  outcome:
    description:
      - How the run ended. V(refused) is a run the decision refused (the failed phase is C(decide)).
    type: str
    required: true
    choices: [completed, failed, refused]
  failed_phase:
    description: The phase where the run stopped (with O(outcome=failed) or O(outcome=refused)).
    type: str
  error:
    description: Why the run stopped; cut to 500 characters.
    type: str
  who:
    description:
      - The person or account that ran the rollback (AWX's C(awx_user_name) or C(tower_user_name), else
        the controller's user). An empty value is written as given, with a warning.
    type: str
    required: true
  environment:
    description: The environment rolled back (e.g. V(prod), V(staging)).
    type: str
  check_mode_run:
    description: Whether the rollback ran in check mode; written as C(check_mode) (true also when this module runs in check mode).
    type: bool
    default: false
  decision:
    description:
      - The result of M(runbooks.rollback.rollback_decision), used when the decide phase in O(record) has
        no decision in its details (a refused run).
      - Only C(hours_since_deployment), C(window), C(scenario), C(scenario_name), C(recommended_action),
        C(rollback_allowed), C(overridden), C(override_reason) and C(reason) are kept, and only as
        scalars (a list or dict value is written as null).
    type: dict
    default: {}
  to_commit:
    description: The commit or tag the operator asked to roll back to, used when the code phase did not record C(commit_after).
    type: str
  backup_sha256:
    description:
      - Compute the SHA-256 of the backup file named in O(record) (the database phase's, else
        restore_ahead's, else the decide phase's C(backup_file)).
      - When the file cannot be read on this host the checksum is null and RV(backup_sha256_error) says
        why; it is never a failure.
    type: bool
    default: true
extends_documentation_fragment:
  - runbooks.rollback.attributes
attributes:
  check_mode:
    description: Makes the same checks, writes nothing (no directory, no mode change) and returns the entry it would write.
    support: full
seealso:
  - module: runbooks.rollback.rollback_state
'''

EXAMPLES = r'''
- name: Record the completed rollback in the audit log
  runbooks.rollback.rollback_audit:
    path: "{{ rollback_state_dir }}/audit.jsonl"
    record: "{{ report_record.record }}"
    rollback_id: "{{ rollback_id }}"
    outcome: completed
    who: "{{ awx_user_name | default(tower_user_name) | default(lookup('env', 'USER')) }}"
    environment: "{{ rollback_environment }}"
    check_mode_run: "{{ ansible_check_mode }}"
    to_commit: "{{ rollback_code_target | default(omit) }}"
  delegate_to: "{{ report_state_host }}"
  become: true
  run_once: true
  check_mode: false

- name: Record a run the decision refused (in the rescue of the decide phase)
  runbooks.rollback.rollback_audit:
    path: "{{ rollback_state_dir }}/audit.jsonl"
    record: "{{ phase_record.record | default({}) }}"
    rollback_id: "{{ rollback_id }}"
    outcome: "{{ 'refused' if phase_name == 'decide' else 'failed' }}"
    failed_phase: "{{ phase_name }}"
    error: "{{ ansible_failed_result.msg | default('unknown error') }}"
    who: "{{ awx_user_name | default(tower_user_name) | default(lookup('env', 'USER')) }}"
    check_mode_run: "{{ ansible_check_mode }}"
    decision: "{{ decision_result | default({}) }}"
  delegate_to: "{{ groups['db'][0] }}"
  become: true
  run_once: true
  check_mode: false
'''

RETURN = r'''
entry:
  description:
    - The entry written (in check mode, the entry that would be written); the keys are listed in the description.
  returned: success
  type: dict
  sample: {"format": 1, "rollback_id": "20261124T103000", "at": "2026-11-24T10:52:07Z", "who": "jdoe",
           "environment": "prod", "check_mode": false, "outcome": "completed", "failed_phase": null, "error": null,
           "decision": {"hours_since_deployment": 1.5, "window": "0-2h", "scenario": 1, "scenario_name": "critical",
                        "recommended_action": "immediate rollback", "rollback_allowed": true, "overridden": false,
                        "override_reason": null, "reason": "Deployed 1.5 h ago ... rollback allowed."},
           "scope": "full", "phases": [{"phase": "decide", "status": "completed"}, {"phase": "stop", "status": "completed"}],
           "from_commit": "9f8e7d6", "to_commit": "v2.3.1",
           "backup_file": "/backups/postgresql/open_discussions_20261124.dump",
           "backup_sha256": "3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855e",
           "rows_lost": 12, "rows_reimported": 10, "rows_conflicting": 2,
           "started_at": "2026-11-24T10:30:00Z", "ended_at": "2026-11-24T10:52:07Z"}
path:
  description: The audit log.
  returned: success
  type: str
  sample: /var/lib/runbooks-rollback/audit.jsonl
lines:
  description: The number of lines in the log after the append (in check mode, the number it would have).
  returned: success
  type: int
  sample: 14
created:
  description: Whether the log did not exist before this call (and was created, except in check mode).
  returned: success
  type: bool
  sample: false
tightened_from:
  description: The log's mode before it was tightened to 0600 (would be, in check mode); null when it was not wider.
  returned: success
  type: str
  sample: "0644"
backup_sha256_error:
  description: Why C(backup_sha256) is null (no backup in the record, not readable on this host, not asked); null when it was computed.
  returned: success
  type: str
  sample: "cannot read the backup /backups/postgresql/open_discussions_20261124.dump on this host: No such file or directory"
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.runbooks.rollback.plugins.module_utils.audit import AuditError, record_run
from ansible_collections.runbooks.rollback.plugins.module_utils.timeutil import utcnow


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            record=dict(type="dict", default={}),
            rollback_id=dict(type="str", required=True),
            outcome=dict(type="str", required=True, choices=["completed", "failed", "refused"]),
            failed_phase=dict(type="str"),
            error=dict(type="str"),
            who=dict(type="str", required=True),
            environment=dict(type="str"),
            check_mode_run=dict(type="bool", default=False),
            decision=dict(type="dict", default={}),
            to_commit=dict(type="str"),
            backup_sha256=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    try:
        result = record_run(module.params, utcnow(), module.check_mode)
    except AuditError as exc:
        module.fail_json(msg=str(exc))
    for warning in result.pop("warnings"):
        module.warn(warning)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
