# -*- coding: utf-8 -*-
# Copyright: (c) 2026, runbooks.rollback developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Export the rows created since the deployment: one file per table (jsonl, csv) or one
Django fixture, each written atomically, and the manifest that lists them with their sha256.

Rows are streamed by the server (COPY, or a server-side cursor for the fixture): memory does
not grow with the number of rows.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os

from ansible_collections.runbooks.rollback.plugins.module_utils.private_file import AtomicFile, write_atomic
from ansible_collections.runbooks.rollback.plugins.module_utils.postgres import sql
from ansible_collections.runbooks.rollback.plugins.module_utils.recent_data import (
    SpecError, columns_of, primary_key, qualified, resolve, since_condition)


def foreign_key_columns(cur, schema, table):
    cur.execute("SELECT a.attname FROM pg_catalog.pg_constraint k "
                "JOIN pg_catalog.pg_class c ON c.oid = k.conrelid "
                "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                "JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY(k.conkey) "
                "WHERE k.contype = 'f' AND n.nspname = %s AND c.relname = %s AND array_length(k.conkey, 1) = 1",
                (schema, table))
    return set(r[0] for r in cur.fetchall())


def file_name(entry, fmt):
    safe = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in "%s.%s" % (entry["schema"], entry["table"]))
    return safe + (".csv" if fmt == "csv" else ".jsonl")


def model_label(entry):
    """Django model label for a table: explicit ``model``, else app_model from the first underscore."""
    if entry.get("model"):
        return entry["model"]
    app, _sep, model = entry["table"].partition("_")
    if not model:
        raise SpecError("cannot derive the Django model of table %s: give tables[].model "
                        "(e.g. course_catalog.podcast)" % entry["table"])
    # auth_user -> auth.user; course_catalog_podcast -> course_catalog.podcast (known multi-word apps)
    for known in ("course_catalog", "open_discussions"):
        if entry["table"].startswith(known + "_"):
            return "%s.%s" % (known, entry["table"][len(known) + 1:])
    return "%s.%s" % (app, model)


def _stream_json_rows(conn, entry, since, itersize):
    """Yield each row as JSON text, through a server-side cursor (memory flat)."""
    query = sql.SQL("SELECT row_to_json(t)::text FROM (SELECT * FROM {} WHERE {} ORDER BY 1) t").format(
        qualified(entry), since_condition(entry))
    cur = conn.cursor(name="rb_export")
    cur.itersize = itersize
    try:
        cur.execute(query, {"since": since})
        for (text,) in cur:
            yield text
    finally:
        cur.close()


def export_table(conn, entry, since, fmt, dest, itersize=2000, fixture=None):
    """Write one table's rows; return its manifest entry. ``fixture`` is the open fixture file."""
    with conn.cursor() as cur:
        pk = primary_key(cur, entry["schema"], entry["table"])
        cols = columns_of(cur, entry["schema"], entry["table"])
        fks = foreign_key_columns(cur, entry["schema"], entry["table"])
    rows = 0
    if fmt == "django_fixture":
        label = model_label(entry)
        for text in _stream_json_rows(conn, entry, since, itersize):
            row = json.loads(text)
            key = row.pop(pk[0]) if len(pk) == 1 else None
            fields = dict(((k[:-3] if k in fks and k.endswith("_id") else k), v) for k, v in row.items())
            fixture.write((",\n" if fixture.size > 2 else "\n") +
                          json.dumps({"model": label, "pk": key, "fields": fields}, sort_keys=True))
            rows += 1
        return {"schema": entry["schema"], "table": entry["table"], "label": entry["label"], "rows": rows,
                "primary_key": pk, "columns": cols, "model": label, "timestamp_column": entry["timestamp_column"]}
    out = AtomicFile(os.path.join(dest, file_name(entry, fmt)))
    try:
        if fmt == "csv":
            query = sql.SQL("COPY (SELECT * FROM {} WHERE {} ORDER BY 1) TO STDOUT WITH (FORMAT csv, HEADER)").format(
                qualified(entry), since_condition(entry))
            with conn.cursor() as cur:
                cur.copy_expert(cur.mogrify(query, {"since": since}).decode("utf-8"), out)
                cur.execute(sql.SQL("SELECT count(*) FROM {} WHERE {}").format(qualified(entry), since_condition(entry)),
                            {"since": since})
                rows = cur.fetchone()[0]
        else:
            # One JSON object per line, streamed by the server. CSV with control characters as
            # delimiter and quote never quotes nor escapes: row_to_json writes no raw newline and
            # no control character (it escapes them as \u00XX), so each line is the JSON text as is.
            query = sql.SQL("COPY (SELECT row_to_json(t)::text FROM (SELECT * FROM {} WHERE {} ORDER BY 1) t) "
                            "TO STDOUT WITH (FORMAT csv, DELIMITER E'\\x02', QUOTE E'\\x01', "
                            "ENCODING 'UTF8')").format(qualified(entry), since_condition(entry))
            with conn.cursor() as cur:
                cur.copy_expert(cur.mogrify(query, {"since": since}).decode("utf-8"), out)
            rows = out.lines
        out.commit()
    except Exception:
        out.abort()
        raise
    return {"schema": entry["schema"], "table": entry["table"], "label": entry["label"], "rows": rows,
            "file": os.path.basename(out.path), "sha256": out.digest.hexdigest(), "bytes": out.size,
            "primary_key": pk, "columns": cols, "timestamp_column": entry["timestamp_column"]}


def export(conn, entries, since, fmt, dest, discover_columns=None, itersize=2000):
    """Export every usable table in the caller's (repeatable read) transaction; return manifest dict."""
    with conn.cursor() as cur:
        usable, missing = resolve(cur, entries, discover_columns)
        cur.execute("SELECT now(), current_database()")
        snapshot, database = cur.fetchone()
    files = []
    if fmt == "django_fixture":
        fixture = AtomicFile(os.path.join(dest, "fixture.json"))
        try:
            fixture.write("[")
            for entry in usable:
                files.append(export_table(conn, entry, since, fmt, dest, itersize, fixture))
            fixture.write("\n]\n")
            fixture.commit()
        except Exception:
            fixture.abort()
            raise
        for item in files:
            item.update(file="fixture.json", sha256=fixture.digest.hexdigest(), bytes=fixture.size)
    else:
        for entry in usable:
            files.append(export_table(conn, entry, since, fmt, dest, itersize))
    return {
        "format": fmt,
        "since": since.isoformat(),
        "snapshot_at": snapshot.isoformat(),
        "database": database,
        "tables": files,
        "missing_tables": [{"table": "%s.%s" % (e["schema"], e["table"]), "reason": e["reason"]} for e in missing],
        "total_rows": sum(f["rows"] for f in files),
    }


def write_manifest(dest, manifest):
    path = os.path.join(dest, "manifest.json")
    write_atomic(path, json.dumps(manifest, indent=2, sort_keys=True) + "\n", sync=False)
    return path
