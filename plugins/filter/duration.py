# -*- coding: utf-8 -*-
# Copyright: (c) 2026, runbooks.rollback developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Seconds as a duration an operator reads at a glance."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: duration
short_description: Seconds as C(45s), C(3m 05s) or C(1h 02m 05s)
version_added: 0.1.0
description:
  - Formats a number of seconds for timelines and reports; C(-) for null (a phase still running).
author:
  - runbooks.rollback developers (@runbooks)
options:
  _input:
    description: Seconds (int, float or a numeric string), or null.
    type: raw
    required: true
'''

EXAMPLES = r'''
- name: Say how long the restore took
  ansible.builtin.debug:
    msg: "Restore took {{ 3725 | runbooks.rollback.duration }}"  # 1h 02m 05s
'''

RETURN = r'''
_value:
  description: The duration as text.
  type: str
'''

from ansible.errors import AnsibleFilterError


def duration(seconds):
    """Seconds as '45s', '3m 05s' or '1h 02m 05s'; '-' for None."""
    if seconds is None:
        return "-"
    try:
        seconds = int(round(float(seconds)))
    except (TypeError, ValueError):
        raise AnsibleFilterError("duration: expected a number of seconds, got %r" % (seconds,))
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return "%s%dh %02dm %02ds" % (sign, hours, minutes, secs)
    if minutes:
        return "%s%dm %02ds" % (sign, minutes, secs)
    return "%s%ds" % (sign, secs)


class FilterModule(object):
    def filters(self):
        return {"duration": duration}
