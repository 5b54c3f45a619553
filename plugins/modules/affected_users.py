#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, runbooks.rollback developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: affected_users
short_description: Find the rows still lost after the restore and the re-import, and the users to notify
version_added: 0.1.0
description:
  - For the runbook's step "Notify affected users". Reads an export written by
    M(runbooks.rollback.recent_data_export) (the rows created since the deployment), checking every file
    against the SHA-256 of its manifest as M(runbooks.rollback.recent_data_import) does, and looks each
    exported row up in the live (restored) database by its primary key.
  - A row that is absent is V(missing); one whose key another row holds (different on the exported columns
    the live table still has) is V(conflict); both are lost. A row present and identical was recovered.
    A table of the export missing from the live database has all its rows lost (RV(missing_tables)).
    A table without a primary key is compared on whole rows (present or V(missing)).
  - A lost row of O(user_table) is that user's; a lost row of another table is the user its user column
    (O(user_columns)) points to. A lost row without a user column, or with a null user, is counted in
    RV(rows_without_user).
  - "The users' fields (O(user_fields)) are written to O(dest) only: a JSON file, mode 0600 (also when it
    replaces an existing file), written under a temporary name and renamed into place, with
    C(generated_at), C(database), C(source) (O(src)), C(since) (the export's), C(rows_lost) and
    C(users) (each C({id, <user_fields>, rows: [{table, key, state}]})). It is written even when nobody is
    affected (C(users) empty), so the notice step can rely on it."
  - A user's fields come from the live user table, or from the exported user row when the user's own row
    is lost (missing, or in conflict, when the live row with that id is someone else).
  - Nothing personal is returned or logged, only counts.
  - A row under its key with the creation time it was exported by (the manifest's C(timestamp_column)) is the
    same row, changed since its re-import (a user who logged in again), so it is recovered. Another creation time is
    another row holding the key, a V(conflict). An export without C(timestamp_column) (made by an older
    version) is compared on every column, so run it right after the re-import then.
  - Reads only the jsonl format of the export (the one M(runbooks.rollback.recent_data_import) re-imports).
author:
  - runbooks.rollback developers (@runbooks)
extends_documentation_fragment:
  - runbooks.rollback.postgres
  - runbooks.rollback.attributes
options:
  src:
    description: The export directory (holding C(manifest.json)) written by M(runbooks.rollback.recent_data_export).
    type: path
    required: true
  dest:
    description:
      - The JSON file of the affected users to write (0600). Its directory must exist.
      - An existing file is replaced, unless it already holds the same users and rows (then it is left as it is,
        not changed).
    type: path
    required: true
  user_table:
    description: The table of the user model (C(django.contrib.auth)'s by default). It must have a one-column primary key.
    type: str
    default: auth_user
  user_schema:
    description: Schema of O(user_table).
    type: str
    default: public
  user_fields:
    description:
      - Columns of O(user_table) written for each user. C(id) in the file is always the user's primary key.
      - Unset, those of C(id), C(username) and C(email) the table has (a custom user model without C(email) gets
        its list without it, and a warning). A column named here that the table lacks is refused.
    type: list
    elements: str
  user_columns:
    description:
      - For each exported table (C(table) or C(schema.table)), the column holding the id of the user its rows
        belong to, for example C(course_catalog_podcast) to C(owner_id).
      - Default, the single-column foreign keys that reference the primary key of O(user_table) in the live
        database (a table with several is counted for the first, with a warning). Given, it replaces the
        discovery, and the tables it does not name have no user.
      - O(user_table) itself always maps to its primary key.
    type: dict
attributes:
  check_mode:
    description: Finds everything and reports whether it would write O(dest) (C(changed)); writes nothing.
    support: full
'''

EXAMPLES = r'''
- name: Find the users whose data the rollback lost
  runbooks.rollback.affected_users:
    db: open_discussions
    src: "/backups/rollback/{{ rollback_id }}/recent-data"
    dest: "/backups/rollback/{{ rollback_id }}/affected_users.json"
  become: true
  become_user: postgres
  register: affected

- name: Name the user column of a table whose foreign key is not declared
  runbooks.rollback.affected_users:
    db: open_discussions
    src: "/backups/rollback/{{ rollback_id }}/recent-data"
    dest: "/backups/rollback/{{ rollback_id }}/affected_users.json"
    user_columns:
      course_catalog_podcast: owner_id
      channels_post: author_id
    user_fields: [id, username, email, first_name]
'''

RETURN = r'''
dest:
  description: The file of the affected users (not written in check mode).
  returned: success
  type: str
  sample: /backups/rollback/20261124T1100Z/affected_users.json
rows_checked:
  description: Exported rows looked up.
  returned: success
  type: int
  sample: 6
rows_lost:
  description: Exported rows still lost (missing or in conflict).
  returned: success
  type: int
  sample: 2
rows_recovered:
  description: Exported rows present and identical in the live database.
  returned: success
  type: int
  sample: 4
tables:
  description: Per exported table, rows checked, lost, and lost as missing or in conflict.
  returned: success
  type: dict
  sample: {"public.auth_user": {"checked": 3, "lost": 1, "missing": 0, "conflict": 1},
           "public.course_catalog_podcast": {"checked": 2, "lost": 1, "missing": 1, "conflict": 0}}
users_affected:
  description: Users with at least one lost row (the entries of the file).
  returned: success
  type: int
  sample: 1
rows_without_user:
  description: Lost rows with no user column, or a null user.
  returned: success
  type: int
  sample: 0
missing_tables:
  description: Tables of the export missing from the live database (all their rows lost), with the reason.
  returned: success
  type: list
  elements: dict
  sample: [{"table": "public.channels_channel",
            "reason": "table public.channels_channel does not exist in the live database: all its exported rows are lost"}]
user_columns:
  description: The user column used for each table (O(user_columns), or discovered).
  returned: success
  type: dict
  sample: {"public.auth_user": "id", "public.course_catalog_podcast": "owner_id"}
'''

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.runbooks.rollback.plugins.module_utils.affected_users import (
    check_dest, find_affected, same_file, write_file)
from ansible_collections.runbooks.rollback.plugins.module_utils.postgres import (
    HAS_PSYCOPG2, PSYCOPG2_IMPORT_ERROR, PostgresError, connect, postgres_common_argument_spec, psycopg2)
from ansible_collections.runbooks.rollback.plugins.module_utils.recent_data import SpecError
from ansible_collections.runbooks.rollback.plugins.module_utils.timeutil import isoformat, utcnow


def argument_spec():
    spec = postgres_common_argument_spec()
    spec.update(
        src=dict(type="path", required=True),
        dest=dict(type="path", required=True),
        user_table=dict(type="str", default="auth_user"),
        user_schema=dict(type="str", default="public"),
        user_fields=dict(type="list", elements="str"),
        user_columns=dict(type="dict"),
    )
    return spec


def run(params, check_mode):
    dest = params["dest"]
    check_dest(dest)
    conn = connect(params, readonly=True, isolation="repeatable read")
    try:
        content, result, warnings = find_affected(conn, params["src"], params["user_schema"], params["user_table"],
                                                  params["user_fields"], params["user_columns"])
    except psycopg2.Error as exc:
        raise PostgresError("reading database %s failed: %s. The login needs SELECT on the exported tables and on "
                            "%s.%s" % (params["db"], str(exc).strip(), params["user_schema"], params["user_table"]))
    finally:
        conn.rollback()
        conn.close()
    content["generated_at"] = isoformat(utcnow())
    changed = not same_file(dest, content)
    if changed and not check_mode:
        try:
            write_file(dest, content)
        except (IOError, OSError) as exc:
            raise SpecError("writing the affected users to %s failed: %s; check free space and permissions"
                            % (dest, exc))
    result.update(changed=changed, dest=dest)
    return result, warnings


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    if not HAS_PSYCOPG2:
        module.fail_json(msg=missing_required_lib("psycopg2"), exception=PSYCOPG2_IMPORT_ERROR)
    try:
        result, warnings = run(module.params, module.check_mode)
    except (PostgresError, SpecError) as exc:
        module.fail_json(msg=str(exc))
    except (IOError, OSError, ValueError) as exc:
        module.fail_json(msg="reading the export in %s failed: %s; check that this login may read it, and that it "
                             "is the directory recent_data_export wrote" % (module.params["src"], exc))
    for warning in warnings:
        module.warn(warning)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
