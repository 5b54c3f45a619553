# -*- coding: utf-8 -*-
# Copyright: (c) 2026, runbooks.rollback developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A rollback's state record as it will be once the phases carried while the site is down are written."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: rollback_state_carried
short_description: A rollback's state record with the carried phase ends applied
version_added: 0.3.0
description:
  - While the site is down the phase scaffold does not write every phase's start and end on its own; they
    are carried (a list as M(runbooks.rollback.rollback_state)'s C(complete_first) takes it) to the next
    phase's start record. A phase whose start is carried reads the record through this filter, so that it
    sees the earlier phases as the state file will hold them (their details, completed), without a round
    trip to the state host.
  - The same code as the module's (C(module_utils/state.py)), so the two cannot disagree.
author:
  - runbooks.rollback developers (@runbooks)
options:
  _input:
    description: The record, as M(runbooks.rollback.rollback_state) returns it (C(record)).
    type: dict
    required: true
  carried:
    description: The carried phases, in the order they ran (C(phase), C(details), C(started_at), C(ended_at)).
    type: list
    elements: dict
    required: true
'''

EXAMPLES = r'''
- name: The record as the next write will leave it
  ansible.builtin.set_fact:
    record_now: "{{ phase_started.record | runbooks.rollback.rollback_state_carried(phase_carried) }}"
'''

RETURN = r'''
_value:
  description:
    - The record with each carried phase completed (and started first when its start was carried).
    - Its C(events) are left out (empty); the state file keeps them.
  type: dict
'''

import json

from ansible.errors import AnsibleFilterError

from ansible_collections.runbooks.rollback.plugins.module_utils.state import StateError, apply_carried
from ansible_collections.runbooks.rollback.plugins.module_utils.timeutil import TimestampError, utcnow


def rollback_state_carried(record, carried):
    if not isinstance(record, dict) or not isinstance(record.get("phases"), dict):
        raise AnsibleFilterError("rollback_state_carried: the input must be the record rollback_state returns "
                                 "(with phases), not %r" % (type(record).__name__,))
    # Plain values, once (the templating engine's containers are slow to copy), and without the
    # events: the phases read them from the state file, not from here; ``apply`` copies what it gets.
    plain = json.loads(json.dumps(dict((key, value) for key, value in record.items() if key != "events")))
    plain["events"] = []
    try:
        return apply_carried(plain, json.loads(json.dumps(list(carried or []))), utcnow())
    except (StateError, TimestampError) as exc:
        raise AnsibleFilterError("rollback_state_carried: %s" % exc)


class FilterModule(object):
    def filters(self):
        return {"rollback_state_carried": rollback_state_carried}
