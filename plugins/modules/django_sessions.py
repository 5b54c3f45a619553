#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, runbooks.rollback developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: django_sessions
short_description: Count Django's active sessions and the users behind them, over time
version_added: 0.1.0
description:
  - Counts the rows of Django's session table that have not expired, what the runbook checks with
    C(Session.objects.filter(expire_date__gte=timezone.now()).count()) after the rollback; the count
    should increase as users return.
  - With O(decode_users), also counts the distinct logged-in users among the active sessions, read from
    each session's C(_auth_user_id).
  - "The session data is decoded without the secret key (its signature is not checked): the signed format
    of Django 3.1 and later (C(<payload>:<timestamp>:<signature>), URL-safe base64 of the JSON,
    zlib-compressed when it starts with C(.)) and the base64 format of earlier versions. Sessions in
    neither (pickled, damaged) are counted in RV(undecodable), never a failure."
  - Takes O(samples) samples O(interval) seconds apart, each in its own read-only snapshot, and
    returns whether the count is rising, falling or steady.
  - Returns counts only, never a session key, session data or a user id.
  - A database without the session table (an application without C(django.contrib.sessions)) is not a
    failure. RV(exists) is false and the counts are null.
  - O(db) is required. With C(USE_TZ = False) Django stores C(expire_date) in the server's local time
    without a zone; it is compared with the current time in UTC.
author:
  - runbooks.rollback developers (@runbooks)
extends_documentation_fragment:
  - runbooks.rollback.postgres
  - runbooks.rollback.attributes
options:
  table:
    description: The session table (Django's C(django.contrib.sessions) model).
    type: str
    default: django_session
  schema:
    description: Schema of O(table).
    type: str
    default: public
  samples:
    description: How many samples to take, 1 or more.
    type: int
    default: 1
  interval:
    description: Seconds between two samples, more than 0 (unused with one sample).
    type: float
    default: 10
  decode_users:
    description:
      - Decode the active sessions to count the distinct logged-in users (RV(users)). Reads every active
        session's data (streamed, memory holds only the distinct user ids).
      - V(false) runs only the count.
    type: bool
    default: true
attributes:
  check_mode:
    description: Read-only; runs fully in check mode.
    support: full
'''

EXAMPLES = r'''
- name: Count the active sessions every 30 seconds for 5 minutes, after the services are back
  runbooks.rollback.django_sessions:
    db: open_discussions
    samples: 11
    interval: 30
  become: true
  become_user: postgres
  register: sessions

- name: Say whether users come back
  ansible.builtin.debug:
    msg: "{{ sessions.active }} active sessions, {{ sessions.users }} users logged in, {{ sessions.trend }}"
  when: sessions.exists

- name: Count only, on a large session table
  runbooks.rollback.django_sessions:
    db: open_discussions
    login_host: db.internal
    login_user: app
    login_password: "{{ app_db_password }}"
    decode_users: false
'''

RETURN = r'''
exists:
  description: Whether the session table exists. When it does not, the counts are null and RV(msg) says so.
  returned: success
  type: bool
  sample: true
msg:
  description: Why there are no counts (the table is missing).
  returned: when the table does not exist
  type: str
  sample: "database open_discussions has no table public.django_session: the application has no
    django.contrib.sessions table, so there are no sessions to count"
active:
  description: Active (not expired) sessions in the last sample; null when the table does not exist.
  returned: success
  type: int
  sample: 42
users:
  description:
    - Distinct logged-in users among the active sessions of the last sample; null without O(decode_users)
      or when the table does not exist. Undecodable sessions are not in it.
  returned: success
  type: int
  sample: 37
undecodable:
  description:
    - Active sessions of the last sample whose data could not be decoded (not counted in RV(users));
      null without O(decode_users) or when the table does not exist.
  returned: success
  type: int
  sample: 0
samples:
  description: Every sample, oldest first, with the server's time (UTC) it was taken at; empty when the table does not exist.
  returned: success
  type: list
  elements: dict
  sample: [{"at": "2026-11-24T11:30:00Z", "active": 30, "users": 27}, {"at": "2026-11-24T11:35:00Z", "active": 42,
            "users": 37}]
first:
  description: Active sessions in the first sample; null when the table does not exist.
  returned: success
  type: int
  sample: 30
last:
  description: Active sessions in the last sample (RV(active)); null when the table does not exist.
  returned: success
  type: int
  sample: 42
min:
  description: Fewest active sessions of the samples; null when the table does not exist.
  returned: success
  type: int
  sample: 30
max:
  description: Most active sessions of the samples; null when the table does not exist.
  returned: success
  type: int
  sample: 42
trend:
  description:
    - V(rising), V(falling) or V(steady), the last sample against the first; V(steady) with one sample.
      Null when the table does not exist.
  returned: success
  type: str
  sample: rising
'''

import time

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.runbooks.rollback.plugins.module_utils.django_sessions import (
    sample, session_table, summary)
from ansible_collections.runbooks.rollback.plugins.module_utils.postgres import (
    HAS_PSYCOPG2, PSYCOPG2_IMPORT_ERROR, PostgresError, connect, postgres_common_argument_spec, psycopg2)
from ansible_collections.runbooks.rollback.plugins.module_utils.timeutil import isoformat


def argument_spec():
    spec = postgres_common_argument_spec()
    spec.update(
        table=dict(type="str", default="django_session"),
        schema=dict(type="str", default="public"),
        samples=dict(type="int", default=1),
        interval=dict(type="float", default=10),
        decode_users=dict(type="bool", default=True),
    )
    return spec


def check_params(params):
    """The message refusing the sampling options, or None."""
    if params["samples"] < 1:
        return "samples must be 1 or more, got %d" % params["samples"]
    if not 0 < params["interval"] < float("inf"):
        return "interval must be more than 0 seconds, got %s" % params["interval"]
    return None


def missing_result(params):
    return {"exists": False, "active": None, "users": None, "undecodable": None, "samples": [], "first": None,
            "last": None, "min": None, "max": None, "trend": None,
            "msg": "database %s has no table %s.%s: the application has no django.contrib.sessions table, so there "
                   "are no sessions to count (give table/schema if its sessions are elsewhere)"
                   % (params["db"], params["schema"], params["table"])}


def run(params, sleep=time.sleep):
    schema, table, decode_users = params["schema"], params["table"], params["decode_users"]
    conn = connect(params, readonly=True, isolation="repeatable read")
    try:
        try:
            with conn.cursor() as cur:
                exists = session_table(cur, schema, table, decode_users)
        except psycopg2.Error as exc:
            raise PostgresError("looking up table %s.%s failed: %s" % (schema, table, str(exc).strip()))
        finally:
            conn.rollback()
        if not exists:
            return missing_result(params)
        taken = []
        for number in range(params["samples"]):
            if number:
                sleep(params["interval"])
            taken.append(sample(conn, schema, table, decode_users))
    finally:
        conn.close()
    result = summary(taken)
    result["exists"] = True
    result["samples"] = [{"at": isoformat(s["at"]), "active": s["active"], "users": s["users"]} for s in taken]
    return result


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    if not HAS_PSYCOPG2:
        module.fail_json(msg=missing_required_lib("psycopg2"), exception=PSYCOPG2_IMPORT_ERROR)
    refused = check_params(module.params)
    if refused:
        module.fail_json(msg=refused)
    try:
        result = run(module.params)
    except PostgresError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
