# -*- coding: utf-8 -*-
# Copyright: (c) 2026, runbooks.rollback developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters turning a rollback state (runbooks.rollback.rollback_state) into a timeline."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: timeline
short_description: The phases of a rollback as timeline rows with durations
version_added: 0.1.0
description:
  - Takes the C(record) returned by M(runbooks.rollback.rollback_state) and returns one row per
    phase, in the order the phases (last) started, with C(phase), C(status), C(started_at),
    C(ended_at), C(duration_seconds) (null while running), C(duration) (like C(1m 05s)),
    C(attempts), C(error) and C(details).
author:
  - runbooks.rollback developers (@runbooks)
options:
  _input:
    description: The state dict of M(runbooks.rollback.rollback_state).
    type: dict
    required: true
'''

EXAMPLES = r'''
- name: Print the timeline of this rollback
  ansible.builtin.debug:
    msg: "{{ item.phase }}: {{ item.started_at }} - {{ item.ended_at }} ({{ item.duration }}) {{ item.status }}"
  loop: "{{ rollback_record.record | runbooks.rollback.timeline }}"
'''

RETURN = r'''
_value:
  description: One row per phase.
  type: list
  elements: dict
'''

import datetime

from ansible.errors import AnsibleFilterError

from ansible_collections.runbooks.rollback.plugins.filter.duration import duration


def _parse(stamp):
    return datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ")


def timeline(state):
    if not isinstance(state, dict) or not isinstance(state.get("phases"), dict):
        raise AnsibleFilterError("timeline: expected the 'record' of runbooks.rollback.rollback_state "
                                 "(a dict with 'phases' and 'order'), got %r" % (type(state).__name__,))
    rows = []
    for name in state.get("order") or sorted(state["phases"]):
        record = state["phases"].get(name)
        if record is None:
            continue
        seconds = None
        if record.get("started_at") and record.get("ended_at"):
            seconds = int((_parse(record["ended_at"]) - _parse(record["started_at"])).total_seconds())
        rows.append({"phase": name, "status": record.get("status"), "started_at": record.get("started_at"),
                     "ended_at": record.get("ended_at"), "duration_seconds": seconds,
                     "duration": duration(seconds), "attempts": record.get("attempts", 1),
                     "error": record.get("error"), "details": record.get("details") or {}})
    # A phase started again after a reset comes later in time than the phases that
    # followed its first start: the timeline is in time order.
    rows.sort(key=lambda row: row["started_at"] or "")
    return rows


class FilterModule(object):
    def filters(self):
        return {"timeline": timeline}
