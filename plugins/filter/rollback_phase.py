# -*- coding: utf-8 -*-
# Copyright: (c) 2026, runbooks.rollback developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One phase of a rollback's record, every key present: the one reader of what other phases wrote."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: rollback_phase
short_description: One phase of a rollback's record, with every key and every declared detail present
version_added: 0.3.0
description:
  - "The one way a playbook or a role reads what a phase of this rollback recorded (its status, times and
    C(details)): C(phase_started.record | runbooks.rollback.rollback_phase('database'))."
  - Every key is there whether the phase ran or not, and C(details) holds every key the phase declares with
    its default when the record lacks it (the phase never ran, failed before its end, or an older record).
  - "The details each phase declares, and their defaults, are one dict: C(PHASE_DETAILS) in
    C(plugins/module_utils/rollback_record.py); a unit test holds each phase playbook's C(phase_details) to
    them, and every C(.details.<key>) a playbook or role reads through this filter to a declared key."
  - An unknown phase name is refused.
author:
  - runbooks.rollback developers (@runbooks)
options:
  _input:
    description: The record, as M(runbooks.rollback.rollback_state) returns it (C(record)), e.g. C(phase_started.record).
    type: dict
    required: true
  phase:
    description: The phase to read.
    type: str
    required: true
    choices: [decide, restore_ahead, build_ahead, stop, database, code, recover_data, start, verify, search, monitor]
'''

EXAMPLES = r'''
- name: Swap in the copy restored ahead, when it was prepared
  ansible.builtin.debug:
    msg: "{{ ahead.details.backup_file if ahead.status == 'completed' and ahead.details.prepared | bool else '' }}"
  vars:
    ahead: "{{ phase_started.record | runbooks.rollback.rollback_phase('restore_ahead') }}"

- name: Reuse an export saved since the stop completed ('' when it has not)
  ansible.builtin.debug:
    msg: "{{ (phase_started.record | runbooks.rollback.rollback_phase('stop')).completed_at }}"
'''

RETURN = r'''
_value:
  description: The phase.
  type: dict
  contains:
    phase:
      description: The phase's name.
      type: str
      sample: database
    status:
      description: V(started), V(completed) or V(failed); null when the phase never ran (or was forgotten by a rescue).
      type: str
      sample: completed
    started_at:
      description: The start of its last attempt (UTC); null when it never ran.
      type: str
      sample: "2026-11-24T10:05:12Z"
    ended_at:
      description: Its end or its failure (UTC); null while it runs or when it never ran.
      type: str
      sample: "2026-11-24T10:09:40Z"
    completed_at:
      description: C(ended_at) when the phase completed, else an empty string.
      type: str
      sample: "2026-11-24T10:09:40Z"
    attempts:
      description: How many times it started; 0 when it never ran.
      type: int
      sample: 1
    error:
      description: The message of its failure; null unless it failed.
      type: str
      sample: null
    details:
      description:
        - What the phase recorded with its end (C(phase_details) of its playbook), over the defaults of
          every key it declares; a key recorded but not declared is kept as it is.
        - "The defaults: empty strings for the names and paths readers compare or print (C(database): C(export_dir),
          C(kept_db), C(dump_file), C(backup_file); C(restore_ahead): C(scratch_db), C(backup_file); C(build_ahead):
          C(migrated_db); C(code): C(commit_before), C(commit_after)), V(false) for flags, 0 for counts, empty
          lists and dicts for collections, null for the rest."
      type: dict
      sample: {export_dir: /backups/rollback/20261124T1100/export, kept_db: open_discussions_pre_rollback_20261124T1100,
               dump_file: /backups/rollback/20261124T1100/current.dump, dump_deferred: true, restored_ahead: true,
               backup_file: /backups/postgresql/open_discussions.dump, loss_counts: {auth_user: 2}, loss_total: 2,
               loss_since: "2026-11-24T09:30:00Z", export_moved_aside: false, dump_moved_aside: false,
               already_swapped: false}
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.runbooks.rollback.plugins.module_utils.rollback_record import RecordError, phase


def rollback_phase(record, name):
    try:
        return phase(record, name)
    except RecordError as exc:
        raise AnsibleFilterError("rollback_phase: %s" % exc)


class FilterModule(object):
    def filters(self):
        return {"rollback_phase": rollback_phase}
