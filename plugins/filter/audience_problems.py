# -*- coding: utf-8 -*-
# Copyright: (c) 2026, runbooks.rollback developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What is wrong with the audiences of the notices (rollback_audiences), said plainly."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: audience_problems
short_description: The problems of a rollback_audiences value, one sentence each
version_added: 0.4.0
description:
  - Checks the audiences of the notices before anything is touched, so that a notice does not fail for the
    first time when a phase fails. Returns an empty list when they are right.
  - Each audience is a dict with C(mail_to) (a list of addresses), C(webhook_url) (http or https),
    C(webhook_format) (C(json) or C(slack)), C(events) (C(start), C(failed), C(end)) and C(templates)
    (event to a template path, absolute or relative to O(base_dir), which must exist on the controller).
  - The messages name the audience and the key, never an address or a URL.
author:
  - runbooks.rollback developers (@runbooks)
options:
  _input:
    description: The audiences, by name.
    type: raw
    required: true
  base_dir:
    description: The directory relative template paths are taken from (the inventory's).
    type: str
    default: ""
'''

EXAMPLES = r'''
- name: Check the audiences
  ansible.builtin.assert:
    that: rollback_audiences | runbooks.rollback.audience_problems(inventory_dir) | length == 0
'''

RETURN = r'''
_value:
  description: One sentence per problem.
  type: list
  elements: str
  sample: ["support: mail_to must be a list of addresses"]
'''

import os

KEYS = ("mail_to", "webhook_url", "webhook_format", "events", "templates")
EVENTS = ("start", "failed", "end")
FORMATS = ("json", "slack")


def template_path(path, base_dir):
    """An operator's template path: absolute as it is, else under base_dir."""
    return path if os.path.isabs(path) else os.path.join(base_dir or "", path)


def _audience_problems(name, audience, base_dir):
    problems = ["%s: unknown key %s (%s)" % (name, key, ", ".join(KEYS)) for key in audience if key not in KEYS]
    mail_to = audience.get("mail_to", [])
    if not isinstance(mail_to, (list, tuple)) or not all(isinstance(a, str) and "@" in a for a in mail_to):
        problems.append("%s: mail_to must be a list of addresses (user@domain)" % name)
    url = audience.get("webhook_url") or ""
    if not isinstance(url, str) or (url and not url.startswith(("http://", "https://"))):
        problems.append("%s: webhook_url must start with http:// or https://" % name)
    if audience.get("webhook_format", "json") not in FORMATS:
        problems.append("%s: webhook_format must be json or slack" % name)
    events = audience.get("events", list(EVENTS))
    if not isinstance(events, (list, tuple)):
        problems.append("%s: events must be a list (start, failed, end)" % name)
    else:
        problems += ["%s: unknown event %s (start, failed, end)" % (name, e) for e in events if e not in EVENTS]
    templates = audience.get("templates", {})
    if not isinstance(templates, dict):
        problems.append("%s: templates must be a dict of event: template path" % name)
        return problems
    for event, path in templates.items():
        if event not in EVENTS:
            problems.append("%s: a template for the unknown event %s (start, failed, end)" % (name, event))
        elif not isinstance(path, str) or not os.path.isfile(template_path(path, base_dir)):
            problems.append("%s: no template file %s for %s" % (name, template_path(str(path), base_dir), event))
    return problems


def audience_problems(audiences, base_dir=""):
    if not isinstance(audiences, dict):
        return ["it must be a dict of audiences (e.g. engineering: {mail_to: [...]}), got %s" % type(audiences).__name__]
    problems = []
    for name, audience in audiences.items():
        if not isinstance(audience, dict):
            problems.append("%s must be a dict (write %s: {} for notices written to files only), got %s"
                            % (name, name, "nothing" if audience is None else type(audience).__name__))
            continue
        problems += _audience_problems(name, audience, base_dir)
    return problems


class FilterModule(object):
    def filters(self):
        return {"audience_problems": audience_problems}
