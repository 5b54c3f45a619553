# -*- coding: utf-8 -*-
# Copyright: (c) 2026, runbooks.rollback developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What each send of a notice did, without the addresses and webhook URLs it went to."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: notice_outcomes
short_description: The outcome of each notice sent, with addresses and URLs taken out of the errors
version_added: 0.4.0
description:
  - Takes the C(results) of a looped C(ansible.builtin.uri) or C(community.general.mail) task (registered,
    with C(no_log)), whose items are notices (dicts with C(audience)), and returns one entry per send,
    C(audience), C(channel), C(ok) and C(error).
  - The error is the task's message with every mail address and URL replaced by C(<address>) and C(<url>),
    cut to 300 characters, so that it can be logged and written to the report.
author:
  - runbooks.rollback developers (@runbooks)
options:
  _input:
    description: The C(results) list of the registered loop.
    type: list
    elements: dict
    required: true
  channel:
    description: The channel's name in the entries (C(webhook), C(mail)).
    type: str
    required: true
'''

EXAMPLES = r'''
- name: Sum up the webhook posts
  ansible.builtin.set_fact:
    sent: "{{ posted.results | runbooks.rollback.notice_outcomes('webhook') }}"
'''

RETURN = r'''
_value:
  description: One entry per send.
  type: list
  elements: dict
  sample: [{"audience": "support", "channel": "webhook", "ok": false,
            "error": "Status code was -1 and not [200]: Request failed: Connection refused"}]
'''

import re

from ansible.errors import AnsibleFilterError

_ADDRESS = re.compile(r"[^\s,;:<>()\[\]'\"]+@[^\s,;:<>()\[\]'\"]+")
_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s'\"<>]+", re.IGNORECASE)


def scrub(text):
    """The text with URLs and mail addresses replaced, at most 300 characters."""
    text = _URL.sub("<url>", str(text or ""))
    text = _ADDRESS.sub("<address>", text)
    text = " ".join(text.split())
    return text if len(text) <= 300 else text[:297] + "..."


def notice_outcomes(results, channel):
    if not isinstance(results, list):
        raise AnsibleFilterError("notice_outcomes: expected the 'results' list of a looped task, got %r"
                                 % (type(results).__name__,))
    outcomes = []
    for result in results:
        if not isinstance(result, dict) or result.get("skipped"):
            continue
        item = result.get("item") or {}
        failed = bool(result.get("failed") or result.get("unreachable"))
        error = None
        if failed:
            error = scrub(result.get("msg") or result.get("exception") or "failed, no message")
            if result.get("status") not in (None, -1):
                error = "HTTP %s: %s" % (result["status"], error)
        outcomes.append({"audience": item.get("audience") if isinstance(item, dict) else str(item),
                         "channel": channel, "ok": not failed, "error": error})
    return outcomes


class FilterModule(object):
    def filters(self):
        return {"notice_outcomes": notice_outcomes}
