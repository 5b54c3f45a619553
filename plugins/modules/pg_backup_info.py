#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, runbooks.rollback developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: pg_backup_info
short_description: Find and verify the PostgreSQL backup to restore
version_added: 0.1.0
description:
  - Finds the pre-deployment backup (an explicit O(path), or the newest file in O(backup_dir)
    matching O(pattern) that was taken before O(deployed_at)) and verifies it without restoring it.
  - Detects the format (plain SQL, custom, directory, tar; gzip-compressed plain SQL).
  - Plain SQL must start with the pg_dump header and end with the "dump complete" trailer
    (a truncated dump has none); an uncompressed dump is read only at its head and its tail,
    a gzip one is decompressed to its end (streamed), so a damaged gzip stream is caught too.
  - Custom, directory and tar backups must be listable by C(pg_restore --list) and, with
    O(verify_data), readable to their end. Files are streamed, never loaded whole.
  - With O(read_migrations), also returns the backup's C(django_migrations) rows (RV(migrations)), for
    M(runbooks.rollback.django_migrations_check) to compare with the code the rollback goes back to.
  - Read-only; the same in check mode.
author:
  - runbooks.rollback developers (@runbooks)
options:
  path:
    description:
      - The backup file or directory-format backup. Mutually exclusive with O(backup_dir).
    type: path
  backup_dir:
    description:
      - Directory holding backups; the newest matching O(pattern), taken before O(deployed_at)
        and passing verification is chosen.
    type: path
  pattern:
    description:
      - Shell pattern of backup names in O(backup_dir).
    type: str
    default: "*"
  deployed_at:
    description:
      - Time of the bad deployment, ISO 8601 with zone or epoch seconds. The backup must predate it
        when O(require_predates_deployment=true).
    type: str
  require_predates_deployment:
    description:
      - Fail when the backup was taken at or after O(deployed_at) (it would contain the bad migration).
    type: bool
    default: true
  sha256:
    description:
      - Expected SHA-256 of the backup file; a mismatch fails.
    type: str
  verify_data:
    description:
      - For custom, directory and tar backups, also read every data block (C(pg_restore -f /dev/null)).
        C(pg_restore --list) alone reads only the table of contents and passes a dump cut in its data.
      - Costs one sequential read of the backup. Plain SQL dumps are checked by their header and
        trailer whatever this option says.
    type: bool
    default: true
  pg_restore_path:
    description:
      - pg_restore to list custom/directory/tar backups with. Default is found on PATH or in
        C(/usr/lib/postgresql/*/bin).
    type: path
  read_migrations:
    description:
      - Read the rows of the C(django_migrations) table from the chosen (verified) backup and return
        them as RV(migrations); null when the backup has no such table.
      - Plain SQL dumps (and gzip ones) are streamed up to the end of the table's COPY block; custom,
        directory and tar backups are read with C(pg_restore --data-only --table=django_migrations)
        (O(pg_restore_path)). The table is found in any schema (the first one dumped).
      - A dump made with C(pg_dump --inserts) cannot be read (only COPY data) and fails.
    type: bool
    default: false
extends_documentation_fragment:
  - runbooks.rollback.attributes
attributes:
  check_mode:
    description: Read-only; runs fully in check mode.
    support: full
'''

EXAMPLES = r'''
- name: Find the newest backup taken before the deployment
  runbooks.rollback.pg_backup_info:
    backup_dir: /backups/postgresql
    pattern: "open_discussions_*.dump"
    deployed_at: "{{ rollback_deployed_at }}"
  register: backup

- name: Verify an explicit backup and its checksum
  runbooks.rollback.pg_backup_info:
    path: /backups/postgresql/open_discussions_20261124T0900Z.sql.gz
    sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08

- name: Read the migrations recorded in the backup
  runbooks.rollback.pg_backup_info:
    path: "{{ rollback_backup_file }}"
    read_migrations: true
  register: backup

- name: Refuse a backup that does not match the code rolled back to
  runbooks.rollback.django_migrations_check:
    repo_dir: /srv/open-discussions
    target: "{{ rollback_code_target }}"
    applied: "{{ backup.migrations | default([], true) }}"
    backup_label: "{{ backup.path }}"
'''

RETURN = r'''
path:
  description: The backup chosen and verified.
  returned: success
  type: str
  sample: /backups/postgresql/open_discussions_20261124T0900Z.dump
format:
  description: Backup format.
  returned: success
  type: str
  sample: custom
compression:
  description: C(gzip) for a gzip-compressed plain dump, else C(none).
  returned: success
  type: str
  sample: none
size_bytes:
  description: Size of the file (sum of the files for a directory backup).
  returned: success
  type: int
  sample: 1048576
created_at:
  description: Modification time of the backup, UTC.
  returned: success
  type: str
  sample: "2026-11-24T09:00:00Z"
age_hours:
  description: Hours since the backup was taken.
  returned: success
  type: float
  sample: 3.25
predates_deployment:
  description: Whether the backup was taken before O(deployed_at); null without it.
  returned: success
  type: bool
  sample: true
sha256:
  description: SHA-256 of the file when O(sha256) was given (files only).
  returned: when sha256 given
  type: str
  sample: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
toc_entries:
  description: Number of entries pg_restore lists (custom, directory, tar); null for plain SQL.
  returned: success
  type: int
  sample: 42
candidates:
  description:
    - Backups considered in O(backup_dir), newest first, with why each was rejected (null for the
      chosen one). Also returned with the failure when no backup qualifies.
  returned: when backup_dir given
  type: list
  elements: dict
  sample: [{"path": "/backups/postgresql/od_2.dump", "created_at": "2026-11-24T11:00:00Z",
            "rejected": "taken after the deployment"}]
data_verified:
  description:
    - Whether the backup is known complete to the end of its data. Plain SQL by its trailer
      (gzip also by its CRC, read to the end), so always true; custom, directory and tar with
      O(verify_data), by reading every data block.
  returned: success
  type: bool
  sample: true
migrations:
  description:
    - The rows of the backup's C(django_migrations) table, sorted by app and name (one entry per row).
    - Null when the backup has no C(django_migrations) table (no data for it).
  returned: when read_migrations=true
  type: list
  elements: dict
  sample: [{"app": "auth", "name": "0001_initial"}, {"app": "channels", "name": "0001_initial"}]
verified:
  description: Always true on success.
  returned: success
  type: bool
  sample: true
'''

import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.runbooks.rollback.plugins.module_utils.backup import (
    BackupError, choose, find_pg_restore, mtime_utc, read_django_migrations, sha256_of, verify)
from ansible_collections.runbooks.rollback.plugins.module_utils.timeutil import (
    TimestampError, isoformat, parse_timestamp, utcnow)


def run(params):
    if params["sha256"] is not None and not re.match(r"^[0-9a-fA-F]{64}$", params["sha256"].strip()):
        raise BackupError("sha256 must be 64 hexadecimal characters (as printed by sha256sum), got %r"
                          % params["sha256"])
    deployed_at = parse_timestamp(params["deployed_at"], "deployed_at") if params["deployed_at"] else None
    result = {}
    if params["backup_dir"]:
        path, verification, considered = choose(params["backup_dir"], params["pattern"],
                                                deployed_at if params["require_predates_deployment"] else None,
                                                params["pg_restore_path"], params["verify_data"])
        result["candidates"] = considered
    else:
        path = params["path"]
        verification = verify(path, params["pg_restore_path"], params["verify_data"])
    result.update(verification)
    created = mtime_utc(path)
    predates = None if deployed_at is None else created < deployed_at
    if predates is False and params["require_predates_deployment"]:
        raise BackupError("backup %s was taken at %s, after the deployment at %s: restoring it would bring back "
                          "the bad deployment's schema. Pass the backup taken before the deployment, or set "
                          "require_predates_deployment=false if this is intended"
                          % (path, isoformat(created), isoformat(deployed_at)))
    if params["sha256"]:
        if result["format"] == "directory":
            raise BackupError("sha256 cannot be checked for the directory-format backup %s; checksum its "
                              "toc.dat and data files instead" % path)
        actual = sha256_of(path)
        if actual != params["sha256"].strip().lower():
            raise BackupError("backup %s has sha256 %s, expected %s: the file changed or is not the one "
                              "recorded; take a new dump or pass the right file" % (path, actual, params["sha256"]))
        result["sha256"] = actual
    if params["read_migrations"]:
        pg_restore = None if result["format"] == "plain" else find_pg_restore(params["pg_restore_path"])
        rows = read_django_migrations(path, pg_restore)
        result["migrations"] = None if rows is None else [
            {"app": app, "name": name} for app, name in sorted(rows)]
    result.update(path=path, created_at=isoformat(created),
                  age_hours=round((utcnow() - created).total_seconds() / 3600.0, 2),
                  predates_deployment=predates, verified=True)
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path"),
            backup_dir=dict(type="path"),
            pattern=dict(type="str", default="*"),
            deployed_at=dict(type="str"),
            require_predates_deployment=dict(type="bool", default=True),
            sha256=dict(type="str"),
            verify_data=dict(type="bool", default=True),
            pg_restore_path=dict(type="path"),
            read_migrations=dict(type="bool", default=False),
        ),
        required_one_of=[("path", "backup_dir")],
        mutually_exclusive=[("path", "backup_dir")],
        supports_check_mode=True,
    )
    try:
        result = run(module.params)
    except BackupError as exc:
        module.fail_json(msg=str(exc), **exc.details)
    except TimestampError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
