#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, runbooks.rollback developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: data_loss_report
short_description: Count the rows a database restore would lose
version_added: 0.1.0
description:
  - Counts, per table, the rows created at or after O(since) (the deployment time), that is the rows a
    restore of the pre-deployment backup would lose unless they are exported and re-imported.
  - One connection, one read-only REPEATABLE READ transaction, so every count comes from the same snapshot.
  - A missing table or column is reported in RV(missing_tables), not a crash.
author:
  - runbooks.rollback developers (@runbooks)
extends_documentation_fragment:
  - runbooks.rollback.postgres
  - runbooks.rollback.recent_data
  - runbooks.rollback.attributes
attributes:
  check_mode:
    description: Read-only; runs fully in check mode.
    support: full
'''

EXAMPLES = r'''
- name: Count what a restore would lose
  runbooks.rollback.data_loss_report:
    db: open_discussions
    login_user: postgres
    since: "{{ rollback_deployed_at }}"
    discover: true
  become: true
  become_user: postgres
  register: loss

- name: Count only staff-created podcasts
  runbooks.rollback.data_loss_report:
    db: open_discussions
    since: "2026-11-24T09:30:00Z"
    tables:
      - table: course_catalog_podcast
        timestamp_column: created_on
        label: podcasts
        where: "published"
'''

RETURN = r'''
since:
  description: The time counted from, UTC.
  returned: success
  type: str
  sample: "2026-11-24T09:30:00Z"
tables:
  description: One entry per table.
  returned: success
  type: list
  elements: dict
  sample: [{"schema": "public", "table": "auth_user", "label": "users", "timestamp_column": "date_joined",
            "rows": 3, "missing": false}]
counts:
  description: Rows per label, for templates.
  returned: success
  type: dict
  sample: {"users": 3, "podcasts": 2}
total_rows:
  description: Sum of the counts.
  returned: success
  type: int
  sample: 5
missing_tables:
  description: Tables or columns that do not exist (or are not timestamps), with the reason.
  returned: success
  type: list
  elements: dict
  sample: [{"table": "public.channels_channel", "reason": "table public.channels_channel does not exist"}]
snapshot_at:
  description: Server time of the snapshot the counts come from, UTC.
  returned: success
  type: str
  sample: "2026-11-24T11:02:13Z"
'''

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.runbooks.rollback.plugins.module_utils.postgres import (
    HAS_PSYCOPG2, PSYCOPG2_IMPORT_ERROR, PostgresError, connect, postgres_common_argument_spec)
from ansible_collections.runbooks.rollback.plugins.module_utils.recent_data import (
    DEFAULT_TABLES, SpecError, normalize_entries, recent_rows_argument_spec, report)
from ansible_collections.runbooks.rollback.plugins.module_utils.timeutil import (
    TimestampError, isoformat, parse_timestamp)


def argument_spec():
    spec = postgres_common_argument_spec()
    spec.update(recent_rows_argument_spec())
    return spec


def run(params):
    since = parse_timestamp(params["since"], "since")
    entries = normalize_entries(params["tables"] if params["tables"] is not None else DEFAULT_TABLES)
    conn = connect(params, readonly=True, isolation="repeatable read")
    try:
        with conn.cursor() as cur:
            result = report(cur, entries, since, params["discover_columns"] if params["discover"] else None)
    finally:
        conn.rollback()
        conn.close()
    result.pop("usable")
    result["since"] = isoformat(since)
    result["snapshot_at"] = isoformat(result["snapshot_at"])
    return result


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    if not HAS_PSYCOPG2:
        module.fail_json(msg=missing_required_lib("psycopg2"), exception=PSYCOPG2_IMPORT_ERROR)
    try:
        result = run(module.params)
    except (PostgresError, SpecError, TimestampError) as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
