# -*- coding: utf-8 -*-
# Copyright: (c) 2026, runbooks.rollback developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The names of the databases a rollback creates, computed in one place."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: rollback_db_names
short_description: The scratch and kept database names of a rollback
version_added: 0.2.0
description:
  - The database a rollback restores the backup into (C(<db>_rollback_<id>)) and the name the
    live database is kept under after the swap (C(<db>_pre_rollback_<id>)).
  - Every role that needs these names (the restore, the rescue of a failed phase) takes them from
    here, so they cannot drift apart.
  - Characters of the rollback id other than letters, digits and underscores become underscores.
author:
  - runbooks.rollback developers (@runbooks)
options:
  _input:
    description: The application database, a plain identifier (letters, digits, underscores).
    type: str
    required: true
  rollback_id:
    description: The rollback the databases belong to.
    type: str
    required: true
  errors:
    description:
      - 'V(strict) fails the template on a name that cannot be made; V(return) returns C({"error": <why>})
        instead, for a check that refuses with a message of its own (decide).'
    type: str
    choices: [strict, return]
    default: strict
'''

EXAMPLES = r'''
- name: Refuse, before anything stops, a database name or id that cannot name them
  ansible.builtin.assert:
    that: names.error is not defined
    fail_msg: "{{ names.error | default('') }} Nothing was stopped."
  vars:
    names: "{{ rollback_db_name | runbooks.rollback.rollback_db_names(rollback_id, errors='return') }}"

- name: Drop the scratch database of rollback 20261124T1100
  community.postgresql.postgresql_db:
    name: "{{ (rollback_db_name | runbooks.rollback.rollback_db_names(rollback_id)).scratch }}"
    state: absent
'''

RETURN = r'''
_value:
  description: The names, each at most 63 characters (the filter refuses longer ones).
  type: dict
  contains:
    error:
      description: Why the names cannot be made (only with O(errors=return), and then the only key).
      type: str
      sample: "rollback_db_names: the database name 'open-discussions' must be a plain identifier ..."
    scratch:
      description: The database the backup is restored into, swapped in as the live one.
      type: str
      sample: open_discussions_rollback_20261124T1100
    kept:
      description: The name the live database is kept under once the scratch one is swapped in.
      type: str
      sample: open_discussions_pre_rollback_20261124T1100
'''

import re

from ansible.errors import AnsibleFilterError

# PostgreSQL truncates identifiers longer than this silently: two rollbacks would share a name.
MAX_IDENTIFIER = 63
PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def rollback_db_names(db_name, rollback_id, errors="strict"):
    """{'scratch': <db>_rollback_<id>, 'kept': <db>_pre_rollback_<id>}; with errors='return',
    {'error': why} instead of raising."""
    if errors not in ("strict", "return"):
        raise AnsibleFilterError("rollback_db_names: errors must be strict or return, not %r." % (errors,))
    try:
        return _names(db_name, rollback_id)
    except AnsibleFilterError as exc:
        if errors == "strict":
            raise
        return {"error": exc.message}


def _names(db_name, rollback_id):
    db_name = "" if db_name is None else str(db_name)
    if not PLAIN.match(db_name):
        raise AnsibleFilterError(
            "rollback_db_names: the database name %r must be a plain identifier (letters, digits, "
            "underscores): it names the scratch and kept databases too." % (db_name,))
    rollback_id = "" if rollback_id is None else str(rollback_id)
    if not rollback_id:
        raise AnsibleFilterError("rollback_db_names: the rollback id is empty.")
    safe_id = re.sub(r"[^A-Za-z0-9_]", "_", rollback_id)
    names = {"scratch": "%s_rollback_%s" % (db_name, safe_id), "kept": "%s_pre_rollback_%s" % (db_name, safe_id)}
    if len(names["kept"]) > MAX_IDENTIFIER:
        raise AnsibleFilterError(
            "%s is longer than PostgreSQL's %d characters: use a shorter rollback id (e.g. 20261124T1100)."
            % (names["kept"], MAX_IDENTIFIER))
    return names


class FilterModule(object):
    def filters(self):
        return {"rollback_db_names": rollback_db_names}
