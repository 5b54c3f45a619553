#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, runbooks.rollback developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: recent_data_export
short_description: Export the rows created since the deployment, before a restore drops them
version_added: 0.1.0
description:
  - Writes the rows of the given tables created at or after O(since) to O(dest), so they can be
    re-imported into the restored database with M(runbooks.rollback.recent_data_import)
    (format V(jsonl)) or C(manage.py loaddata) (format V(django_fixture)).
  - All tables are read in one read-only REPEATABLE READ transaction (one consistent snapshot),
    through a server-side cursor or C(COPY ... TO STDOUT), so memory stays flat in the number of rows.
  - Every file is written 0600 under a temporary name and renamed into place; a C(manifest.json)
    records the rows, columns, primary keys and SHA-256 of each file. O(dest) is created 0700.
  - An O(dest) that already holds an export is never overwritten unless O(force=true). With
    O(keep_if_after), a rollback resumed with the services still stopped keeps the export of its
    earlier run, and one resumed after they ran again (and took writes) exports those rows too.
author:
  - runbooks.rollback developers (@runbooks)
extends_documentation_fragment:
  - runbooks.rollback.postgres
  - runbooks.rollback.recent_data
  - runbooks.rollback.attributes
options:
  dest:
    description: Directory to write the export to (one directory per rollback).
    type: path
    required: true
  format:
    description:
      - "V(jsonl): one C(<schema>.<table>.jsonl) per table (a JSON object per row);
        V(csv): one C(<schema>.<table>.csv) per table with a header;
        V(django_fixture): one C(fixture.json) loadable by C(manage.py loaddata)."
    type: str
    choices: [jsonl, csv, django_fixture]
    default: jsonl
  force:
    description: Replace an existing export in O(dest).
    type: bool
    default: false
  keep_if_after:
    description:
      - When O(dest) already holds an export (a rollback resumed with the same id), the time after
        which that export still holds every row to save, usually when the services were last
        stopped (ISO 8601 with zone, or epoch seconds).
      - An export of the same O(since) and O(format) whose manifest was written at or after this
        time is kept as it is (RV(kept), not changed).
      - An older one, or one of another O(since) or O(format) or without a table of O(tables), is moved aside to
        C(<dest>.stale-<time it was written>) (kept, never deleted; RV(moved_aside)) and the rows
        are exported again. The services ran after it, so rows written since would be missing.
      - The manifest's time is its file's on this host, the clock the state file of the rollback
        uses, not the database server's.
      - Mutually exclusive with O(force).
    type: str
attributes:
  check_mode:
    description: Counts the rows and reports the files it would write; writes nothing.
    support: full
'''

EXAMPLES = r'''
- name: Export the rows created since the deployment
  runbooks.rollback.recent_data_export:
    db: open_discussions
    since: "{{ rollback_deployed_at }}"
    dest: "/backups/rollback/{{ rollback_id }}/recent-data"
    discover: true
  become: true
  become_user: postgres
  register: export

- name: Export them, or keep the export made since the services were stopped (a resumed run)
  runbooks.rollback.recent_data_export:
    db: open_discussions
    since: "{{ rollback_deployed_at }}"
    dest: "/backups/rollback/{{ rollback_id }}/recent-data"
    keep_if_after: "{{ stopped_at }}"
  become: true
  become_user: postgres
'''

RETURN = r'''
dest:
  description: The export directory.
  returned: success
  type: str
  sample: /backups/rollback/20261124T1100Z/recent-data
manifest:
  description: Path of the manifest (not written in check mode).
  returned: success
  type: str
  sample: /backups/rollback/20261124T1100Z/recent-data/manifest.json
files:
  description: One entry per exported table (in check mode, what would be written).
  returned: success
  type: list
  elements: dict
  sample: [{"table": "public.auth_user", "path": "/backups/rollback/x/public.auth_user.jsonl", "rows": 3,
            "sha256": "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae", "bytes": 512}]
total_rows:
  description: Rows exported.
  returned: success
  type: int
  sample: 5
counts:
  description:
    - Rows exported per label (the tables' C(label)), read in the export's snapshot - the shape of
      M(runbooks.rollback.data_loss_report)'s C(counts), so that the export is also the count of what the
      restore would lose, without a second read.
  returned: success
  type: dict
  sample: {"users": 3, "podcasts": 2}
since:
  description: The time exported from, UTC.
  returned: success
  type: str
  sample: "2026-11-24T09:30:00Z"
missing_tables:
  description: Tables or columns that do not exist, with the reason; not exported.
  returned: success
  type: list
  elements: dict
  sample: []
kept:
  description: The export already in O(dest) was kept (O(keep_if_after)); nothing was read or written.
  returned: success
  type: bool
  sample: false
moved_aside:
  description: Where an export too old for O(keep_if_after) was moved before exporting again; null when none was.
  returned: success
  type: str
  sample: /backups/rollback/20261124T1100Z/recent-data.stale-20261124T110213Z
'''

import datetime
import json
import os

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.runbooks.rollback.plugins.module_utils.postgres import (
    HAS_PSYCOPG2, PSYCOPG2_IMPORT_ERROR, PostgresError, connect, postgres_common_argument_spec)
from ansible_collections.runbooks.rollback.plugins.module_utils.recent_data import (
    DEFAULT_TABLES, SpecError, normalize_entries, recent_rows_argument_spec, report)
from ansible_collections.runbooks.rollback.plugins.module_utils.recent_export import (
    export, file_name, write_manifest)
from ansible_collections.runbooks.rollback.plugins.module_utils.timeutil import (
    TimestampError, isoformat, parse_timestamp)


def argument_spec():
    spec = postgres_common_argument_spec()
    spec.update(recent_rows_argument_spec())
    spec.update(
        dest=dict(type="path", required=True),
        format=dict(type="str", default="jsonl", choices=["jsonl", "csv", "django_fixture"]),
        force=dict(type="bool", default=False),
        keep_if_after=dict(type="str"),
    )
    return spec


def existing_export(dest, since, fmt, entries, keep_if_after):
    """The export already in ``dest`` judged against ``keep_if_after``: (manifest to keep or None,
    the time its manifest was written). It is kept only for the same since and format, with every
    table asked for in it (exported, or found missing then)."""
    path = os.path.join(dest, "manifest.json")
    try:
        with open(path) as handle:
            manifest = json.load(handle)
        written = datetime.datetime.fromtimestamp(os.stat(path).st_mtime, datetime.timezone.utc)
    except (IOError, OSError, ValueError) as exc:
        raise SpecError("%s holds an export whose manifest.json cannot be read (%s): move the directory "
                        "aside by hand (nothing is deleted here), then run again" % (dest, exc))
    listed = set("%s.%s" % (t.get("schema"), t.get("table")) for t in manifest.get("tables") or [])
    listed.update(t.get("table") for t in manifest.get("missing_tables") or [])
    same = (manifest.get("format") == fmt and manifest.get("since")
            and parse_timestamp(manifest["since"], "the manifest's since") == since
            and all("%s.%s" % (e["schema"], e["table"]) in listed for e in entries))
    return (manifest if same and written >= keep_if_after else None), written


def aside_path(dest, written):
    """Where a stale export goes: ``<dest>.stale-<the time its manifest was written>``."""
    return "%s.stale-%s" % (dest.rstrip(os.sep), isoformat(written).replace("-", "").replace(":", ""))


def move_aside(dest, aside):
    if os.path.exists(aside):
        raise SpecError("%s must be moved aside to %s, which exists already: move one of them away by hand "
                        "(nothing is deleted here), then run again" % (dest, aside))
    os.rename(dest, aside)


def kept_result(dest, manifest):
    files = [{"table": "%s.%s" % (t["schema"], t["table"]), "path": os.path.join(dest, t["file"]), "rows": t["rows"],
              "sha256": t["sha256"], "bytes": t["bytes"]} for t in manifest["tables"]]
    return {"changed": False, "kept": True, "moved_aside": None, "dest": dest,
            "manifest": os.path.join(dest, "manifest.json"), "files": files, "counts": label_counts(manifest["tables"]),
            "total_rows": manifest["total_rows"], "missing_tables": manifest["missing_tables"]}


def label_counts(tables):
    """Rows per label, as data_loss_report's ``counts`` (labels of tables exported, or counted)."""
    counts = {}
    for table in tables:
        label = table.get("label") or table["table"]
        counts[label] = counts.get(label, 0) + (table["rows"] or 0)
    return counts


def prepare_dest(dest, force, check_mode):
    if os.path.exists(os.path.join(dest, "manifest.json")) and not force:
        raise SpecError("%s already holds an export (manifest.json): it is never overwritten. Use a new dest "
                        "for this rollback, force=true to replace it, or keep_if_after to keep it when it is "
                        "recent enough" % dest)
    if os.path.exists(dest) and not os.path.isdir(dest):
        raise SpecError("dest %s exists and is not a directory" % dest)
    if not os.path.isdir(dest) and not check_mode:
        os.makedirs(dest, 0o700)
        os.chmod(dest, 0o700)


def run(params, check_mode):
    since = parse_timestamp(params["since"], "since")
    entries = normalize_entries(params["tables"] if params["tables"] is not None else DEFAULT_TABLES)
    discover_columns = params["discover_columns"] if params["discover"] else None
    dest = params["dest"]
    moved_aside = None
    if params["keep_if_after"] is not None:
        if params["force"]:
            raise SpecError("force and keep_if_after exclude each other: force replaces the export in dest, "
                            "keep_if_after keeps it when it is recent enough")
        keep_if_after = parse_timestamp(params["keep_if_after"], "keep_if_after")
        if os.path.exists(os.path.join(dest, "manifest.json")):
            manifest, written = existing_export(dest, since, params["format"], entries, keep_if_after)
            if manifest is not None:
                return kept_result(dest, manifest)
            moved_aside = aside_path(dest, written)
            if not check_mode:
                move_aside(dest, moved_aside)
    if not (check_mode and moved_aside):
        # In check mode the stale export is still in dest: it is not refused, it would move.
        prepare_dest(dest, params["force"], check_mode)
    conn = connect(params, readonly=True, isolation="repeatable read")
    try:
        if check_mode:
            with conn.cursor() as cur:
                counted = report(cur, entries, since, discover_columns)
            files = [{"table": "%s.%s" % (t["schema"], t["table"]), "rows": t["rows"],
                      "path": os.path.join(dest, "fixture.json" if params["format"] == "django_fixture"
                                           else file_name(t, params["format"]))}
                     for t in counted["tables"] if not t["missing"]]
            return {"changed": counted["total_rows"] > 0 or not os.path.isdir(dest) or moved_aside is not None,
                    "kept": False, "moved_aside": moved_aside, "dest": dest,
                    "manifest": os.path.join(dest, "manifest.json"), "files": files,
                    "counts": label_counts([t for t in counted["tables"] if not t["missing"]]),
                    "total_rows": counted["total_rows"], "missing_tables": counted["missing_tables"]}
        manifest = export(conn, entries, since, params["format"], dest, discover_columns)
    finally:
        conn.rollback()
        conn.close()
    path = write_manifest(dest, manifest)
    files = [{"table": "%s.%s" % (t["schema"], t["table"]), "path": os.path.join(dest, t["file"]), "rows": t["rows"],
              "sha256": t["sha256"], "bytes": t["bytes"]} for t in manifest["tables"]]
    return {"changed": True, "kept": False, "moved_aside": moved_aside, "dest": dest, "manifest": path, "files": files,
            "counts": label_counts(manifest["tables"]),
            "total_rows": manifest["total_rows"], "missing_tables": manifest["missing_tables"]}


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    if not HAS_PSYCOPG2:
        module.fail_json(msg=missing_required_lib("psycopg2"), exception=PSYCOPG2_IMPORT_ERROR)
    try:
        result = run(module.params, module.check_mode)
        result["since"] = isoformat(parse_timestamp(module.params["since"], "since"))
    except (PostgresError, SpecError, TimestampError) as exc:
        module.fail_json(msg=str(exc))
    except (IOError, OSError) as exc:
        module.fail_json(msg="writing the export to %s failed: %s; check free space and permissions"
                         % (module.params["dest"], exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
