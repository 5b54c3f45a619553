#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, runbooks.rollback developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: recent_data_import
short_description: Re-import exported rows into the restored database, reporting conflicts
version_added: 0.1.0
description:
  - Reads an export written by M(runbooks.rollback.recent_data_export) (format V(jsonl)), checks every
    file against the SHA-256 of its manifest, and inserts the rows in one transaction with
    C(INSERT ... ON CONFLICT DO NOTHING).
  - Rows that conflict with a different row of the restored database (same primary key or unique value)
    are skipped and reported with their keys; they stay in the export files. Rows already there,
    identical (a re-run), are counted apart as already present. Nothing is ever deleted or updated.
  - Any other error rolls the whole import back and names the table, the row and its key.
  - Serial and identity sequences are advanced past the imported keys so the application does not collide.
  - Columns of the export that the restored table lacks are dropped and reported.
author:
  - runbooks.rollback developers (@runbooks)
extends_documentation_fragment:
  - runbooks.rollback.postgres
  - runbooks.rollback.attributes
options:
  src:
    description: The export directory (holding C(manifest.json)).
    type: path
    required: true
  order:
    description:
      - Tables to import first, in this order (C(table) or C(schema.table)), so parents load before
        the rows that reference them. Other tables follow in manifest order.
    type: list
    elements: str
    default: []
  max_conflicts:
    description: How many conflicting keys to return at most (the counts are always complete).
    type: int
    default: 1000
attributes:
  check_mode:
    description: Runs the whole import in a transaction that is rolled back; reports what would happen.
    support: full
'''

EXAMPLES = r'''
- name: Re-import the rows created since the deployment
  runbooks.rollback.recent_data_import:
    db: open_discussions
    src: "/backups/rollback/{{ rollback_id }}/recent-data"
    order: [auth_user, course_catalog_podcast]
  become: true
  become_user: postgres
  register: reimport
'''

RETURN = r'''
inserted:
  description: Rows inserted per table.
  returned: success
  type: dict
  sample: {"public.auth_user": 3, "public.course_catalog_podcast": 2}
already_present:
  description: Rows already in the database, identical to the exported ones (an earlier import), per table.
  returned: success
  type: dict
  sample: {"public.auth_user": 0, "public.course_catalog_podcast": 0}
total_already_present:
  description: Rows already present in all.
  returned: success
  type: int
  sample: 0
skipped:
  description: Rows skipped because a different row holds their key or a unique value, per table.
  returned: success
  type: dict
  sample: {"public.auth_user": 1, "public.course_catalog_podcast": 0}
conflicts:
  description: Keys of the skipped rows (at most O(max_conflicts)).
  returned: success
  type: list
  elements: dict
  sample: [{"table": "public.auth_user", "key": {"id": 42}}]
conflicts_truncated:
  description: Whether more rows were skipped than listed in RV(conflicts).
  returned: success
  type: bool
  sample: false
dropped_columns:
  description: Columns of the export missing from the restored tables, per table.
  returned: success
  type: dict
  sample: {}
sequences:
  description: Sequences advanced past the imported keys.
  returned: success
  type: list
  elements: str
  sample: [public.auth_user_id_seq]
total_inserted:
  description: Rows inserted in all.
  returned: success
  type: int
  sample: 5
total_skipped:
  description: Rows skipped in all.
  returned: success
  type: int
  sample: 1
'''

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.runbooks.rollback.plugins.module_utils.postgres import (
    HAS_PSYCOPG2, PSYCOPG2_IMPORT_ERROR, PostgresError, connect, postgres_common_argument_spec)
from ansible_collections.runbooks.rollback.plugins.module_utils.recent_data import SpecError
from ansible_collections.runbooks.rollback.plugins.module_utils.recent_import import import_export


def argument_spec():
    spec = postgres_common_argument_spec()
    spec.update(
        src=dict(type="path", required=True),
        order=dict(type="list", elements="str", default=[]),
        max_conflicts=dict(type="int", default=1000),
    )
    return spec


def run(params, check_mode):
    conn = connect(params)
    try:
        result = import_export(conn, params["src"], params["order"], params["max_conflicts"])
        if check_mode:
            conn.rollback()
        else:
            conn.commit()
    except Exception:
        conn.rollback()
        raise
    finally:
        conn.close()
    result["changed"] = result["total_inserted"] > 0
    return result


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    if not HAS_PSYCOPG2:
        module.fail_json(msg=missing_required_lib("psycopg2"), exception=PSYCOPG2_IMPORT_ERROR)
    if module.params["max_conflicts"] < 0:
        module.fail_json(msg="max_conflicts must be 0 or more, got %d" % module.params["max_conflicts"])
    try:
        result = run(module.params, module.check_mode)
    except (PostgresError, SpecError) as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
