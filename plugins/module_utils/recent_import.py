# -*- coding: utf-8 -*-
# Copyright: (c) 2026, runbooks.rollback developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Re-insert an export of ``recent_export`` (format jsonl) into the restored database.

The files are checked against the manifest's sha256 first; rows go in with
``ON CONFLICT DO NOTHING`` in the caller's transaction: nothing is deleted or updated.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import hashlib
import json
import os

from ansible_collections.runbooks.rollback.plugins.module_utils.postgres import PostgresError, psycopg2, sql
from ansible_collections.runbooks.rollback.plugins.module_utils.recent_data import (
    SpecError, columns_of, primary_key, table_exists)


# The export formats read_manifest and read_rows read (recent_export also writes csv and django_fixture).
READABLE_FORMATS = ("jsonl",)


def read_manifest(src, reader="recent_data_import", hint="use manage.py loaddata for django_fixture"):
    """The manifest of the export in ``src``; ``reader`` (the module reading it) and ``hint`` (what to
    do instead) are for the message refusing a format it cannot read."""
    path = os.path.join(src, "manifest.json")
    try:
        with open(path) as handle:
            manifest = json.load(handle)
    except (IOError, OSError) as exc:
        raise SpecError("cannot read %s: %s; src must be a directory written by recent_data_export" % (path, exc))
    except ValueError as exc:
        raise SpecError("%s is not valid JSON (%s): the export is damaged; export again" % (path, exc))
    if manifest.get("format") not in READABLE_FORMATS:
        raise SpecError("export %s is in format %r; %s reads the %s format (%s)"
                        % (src, manifest.get("format"), reader, " or ".join(READABLE_FORMATS), hint))
    return manifest


def file_sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_files(src, manifest, consequence="nothing was imported"):
    """Every file of the manifest is there with its sha256; ``consequence`` ends the message refusing one."""
    for item in manifest["tables"]:
        path = os.path.join(src, item["file"])
        if not os.path.isfile(path):
            raise SpecError("export file %s listed in the manifest is missing; %s" % (path, consequence))
        actual = file_sha256(path)
        if actual != item["sha256"]:
            raise SpecError("export file %s has sha256 %s but the manifest says %s: it changed since the export; "
                            "%s" % (path, actual, item["sha256"], consequence))


def read_rows(src, item):
    """Yield (line number, row as a dict of column -> JSON value) of one table of the export."""
    path = os.path.join(src, item["file"])
    with open(path) as handle:
        for number, line in enumerate(handle, 1):
            yield number, json.loads(line)


def ordered_tables(manifest, order):
    """Manifest tables, those named in ``order`` (schema.table or table) first, in that order."""
    tables = list(manifest["tables"])
    if not order:
        return tables

    def rank(item):
        for index, name in enumerate(order):
            if name in (item["table"], "%s.%s" % (item["schema"], item["table"])):
                return index
        return len(order)
    known = set(n for t in tables for n in (t["table"], "%s.%s" % (t["schema"], t["table"])))
    unknown = [n for n in order if n not in known]
    if unknown:
        raise SpecError("order names table(s) not in the export: %s; exported: %s"
                        % (", ".join(unknown), ", ".join("%s.%s" % (t["schema"], t["table"]) for t in tables)))
    return sorted(tables, key=rank)


def advance_sequences(cur, schema, table, pk):
    """Move serial/identity sequences past the imported keys so new rows do not collide."""
    moved = []
    for column in pk:
        cur.execute("SELECT pg_get_serial_sequence(format('%%I.%%I', %s::text, %s::text), %s)", (schema, table, column))
        seq = cur.fetchone()[0]
        if not seq:
            continue
        # The sequence name comes back quoted by the server; it is only ever a parameter here.
        cur.execute(sql.SQL("SELECT setval(%s::regclass, GREATEST((SELECT max({col}) FROM {tbl}), "
                            "COALESCE(pg_sequence_last_value(%s::regclass), 1)), true)").format(
            col=sql.Identifier(column), tbl=sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(table))),
            (seq, seq))
        moved.append(seq)
    return moved


def existing_row(cur, schema, table, key, cols):
    """The row of the target with this primary key, as exported JSON would show it (None if absent)."""
    if not key:
        return None
    query = sql.SQL("SELECT row_to_json(t)::text FROM {}.{} t WHERE {}").format(
        sql.Identifier(schema), sql.Identifier(table),
        sql.SQL(" AND ").join(sql.SQL("{} = %s").format(sql.Identifier(k)) for k in key))
    cur.execute(query, list(key.values()))
    found = cur.fetchone()
    if found is None:
        return None
    row = json.loads(found[0])
    return dict((c, row.get(c)) for c in cols)


def import_table(cur, src, item, conflicts, max_conflicts):
    """Insert one table's exported rows with ON CONFLICT DO NOTHING.

    Returns counts: inserted, already_present (an identical row is there: a re-run),
    skipped (a different row holds the key or a unique value: a real conflict), and the
    dropped columns and primary key.
    """
    schema, table = item["schema"], item["table"]
    if not table_exists(cur, schema, table):
        raise SpecError("table %s.%s of the export does not exist in the restored database: restore the right "
                        "backup, or leave it out with order/tables" % (schema, table))
    target_cols = set(columns_of(cur, schema, table))
    pk = primary_key(cur, schema, table)
    counts = {"inserted": 0, "already_present": 0, "skipped": 0}
    dropped = set()
    path = os.path.join(src, item["file"])
    for number, row in read_rows(src, item):
        dropped.update(k for k in row if k not in target_cols)
        cols = [k for k in row if k in target_cols]
        key = dict((k, row.get(k)) for k in pk)
        query = sql.SQL("INSERT INTO {tbl} ({cols}) SELECT {rcols} FROM json_populate_record(NULL::{tbl}, %s) AS r "
                        "ON CONFLICT DO NOTHING").format(
            tbl=sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(table)),
            cols=sql.SQL(", ").join(sql.Identifier(c) for c in cols),
            rcols=sql.SQL(", ").join(sql.SQL("r.{}").format(sql.Identifier(c)) for c in cols))
        try:
            cur.execute(query, (json.dumps(dict((c, row[c]) for c in cols)),))
        except psycopg2.Error as exc:
            raise PostgresError("importing %s.%s failed at row %d of %s (key %s): %s. Nothing was imported "
                                "(one transaction); fix the cause (e.g. import parent tables first with "
                                "order) and run again" % (schema, table, number, path, json.dumps(key),
                                                          str(exc).strip()))
        if cur.rowcount == 1:
            counts["inserted"] += 1
        elif existing_row(cur, schema, table, key, cols) == dict((c, row[c]) for c in cols):
            counts["already_present"] += 1
        else:
            counts["skipped"] += 1
            if len(conflicts) < max_conflicts:
                conflicts.append({"table": "%s.%s" % (schema, table), "key": key})
    return counts, sorted(dropped), pk


def import_export(conn, src, order=None, max_conflicts=1000):
    """Re-insert an export in the caller's transaction; never deletes or updates."""
    manifest = read_manifest(src)
    verify_files(src, manifest)
    result = {"inserted": {}, "already_present": {}, "skipped": {}, "conflicts": [], "dropped_columns": {},
              "sequences": []}
    with conn.cursor() as cur:
        for item in ordered_tables(manifest, order):
            name = "%s.%s" % (item["schema"], item["table"])
            counts, dropped, pk = import_table(cur, src, item, result["conflicts"], max_conflicts)
            for what, number in counts.items():
                result[what][name] = number
            if dropped:
                result["dropped_columns"][name] = dropped
            if counts["inserted"]:
                result["sequences"] += advance_sequences(cur, item["schema"], item["table"], pk)
    result["total_inserted"] = sum(result["inserted"].values())
    result["total_already_present"] = sum(result["already_present"].values())
    total_skipped = sum(result["skipped"].values())
    result["total_skipped"] = total_skipped
    result["conflicts_truncated"] = total_skipped > len(result["conflicts"])
    result["since"] = manifest.get("since")
    return result
