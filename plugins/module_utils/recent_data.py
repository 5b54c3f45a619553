# -*- coding: utf-8 -*-
# Copyright: (c) 2026, runbooks.rollback developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rows created since the deployment: which tables, how many rows, export and re-import.

Identifiers always go through ``psycopg2.sql.Identifier``; values are query parameters.
``where`` conditions are trusted operator input (from the inventory), passed as SQL.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import hashlib
import json
import os
import tempfile

from ansible_collections.runbooks.rollback.plugins.module_utils.postgres import PostgresError, psycopg2

try:
    from psycopg2 import sql
except ImportError:  # pragma: no cover - the module reports the missing library
    sql = None

DEFAULT_TABLES = [
    {"table": "auth_user", "timestamp_column": "date_joined", "label": "users"},
    {"table": "course_catalog_podcast", "timestamp_column": "created_on", "label": "podcasts"},
]
DEFAULT_DISCOVER_COLUMNS = ["created_on", "date_joined", "created_at"]
TIMESTAMP_TYPES = ("timestamp with time zone", "timestamp without time zone", "date")
TABLE_KEYS = ("table", "timestamp_column", "label", "where", "schema", "model")


class SpecError(ValueError):
    """A tables entry that cannot be used; the message says which and why."""


def table_entry_spec():
    """argument_spec suboptions of one ``tables`` entry."""
    return dict(
        table=dict(type="str", required=True),
        timestamp_column=dict(type="str", required=True),
        label=dict(type="str"),
        where=dict(type="str"),
        schema=dict(type="str", default="public"),
        model=dict(type="str"),
    )


def normalize_entries(entries):
    """Validate tables entries; fill label; refuse ';' in where."""
    out = []
    for index, entry in enumerate(entries):
        table = (entry.get("table") or "").strip()
        column = (entry.get("timestamp_column") or "").strip()
        if not table or not column:
            raise SpecError("tables[%d]: table and timestamp_column are required, got %r" % (index, entry))
        cond = entry.get("where")
        if cond is not None and ";" in cond:
            raise SpecError("tables[%d] (%s): where must be one SQL condition without ';', got %r"
                            % (index, table, cond))
        out.append({
            "schema": entry.get("schema") or "public",
            "table": table,
            "timestamp_column": column,
            "label": entry.get("label") or table,
            "where": cond,
            "model": entry.get("model"),
        })
    return out


def discover(cur, columns):
    """Base tables of user schemas with a timestamp column named in ``columns``."""
    cur.execute(
        "SELECT c.table_schema, c.table_name, c.column_name FROM information_schema.columns c "
        "JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name "
        "WHERE t.table_type = 'BASE TABLE' AND c.column_name = ANY(%s) AND c.data_type = ANY(%s) "
        "AND c.table_schema NOT IN ('pg_catalog', 'information_schema') AND c.table_schema NOT LIKE 'pg\\_%%' "
        "ORDER BY c.table_schema, c.table_name, array_position(%s, c.column_name::text)",
        (list(columns), list(TIMESTAMP_TYPES), list(columns)))
    found, seen = [], set()
    for schema, table, column in cur.fetchall():
        if (schema, table) in seen:
            continue
        seen.add((schema, table))
        found.append({"schema": schema, "table": table, "timestamp_column": column, "label": table,
                      "where": None, "model": None})
    return found


def merge_discovered(entries, discovered):
    """Explicit entries win over discovered ones for the same table."""
    have = set((e["schema"], e["table"]) for e in entries)
    return entries + [d for d in discovered if (d["schema"], d["table"]) not in have]


def column_type(cur, schema, table, column):
    cur.execute("SELECT data_type FROM information_schema.columns "
                "WHERE table_schema = %s AND table_name = %s AND column_name = %s", (schema, table, column))
    row = cur.fetchone()
    return row[0] if row else None


def table_exists(cur, schema, table):
    cur.execute("SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = %s AND c.relname = %s AND c.relkind IN ('r', 'p')", (schema, table))
    return cur.fetchone() is not None


def check_entry(cur, entry):
    """None when the entry is usable, else the reason it is missing."""
    if not table_exists(cur, entry["schema"], entry["table"]):
        return "table %s.%s does not exist" % (entry["schema"], entry["table"])
    ctype = column_type(cur, entry["schema"], entry["table"], entry["timestamp_column"])
    if ctype is None:
        return "column %s does not exist in %s.%s" % (entry["timestamp_column"], entry["schema"], entry["table"])
    if ctype not in TIMESTAMP_TYPES:
        return "column %s of %s.%s is %s, not a timestamp" % (entry["timestamp_column"], entry["schema"],
                                                              entry["table"], ctype)
    return None


def qualified(entry):
    return sql.SQL("{}.{}").format(sql.Identifier(entry["schema"]), sql.Identifier(entry["table"]))


def since_condition(entry):
    cond = sql.SQL("{} >= %(since)s").format(sql.Identifier(entry["timestamp_column"]))
    if entry["where"]:
        cond = sql.SQL("{} AND ({})").format(cond, sql.SQL(entry["where"]))
    return cond


def count_rows(cur, entry, since):
    query = sql.SQL("SELECT count(*) FROM {} WHERE {}").format(qualified(entry), since_condition(entry))
    try:
        cur.execute(query, {"since": since})
    except psycopg2.Error as exc:
        raise PostgresError("counting rows of %s.%s failed: %s (check its where condition %r)"
                            % (entry["schema"], entry["table"], str(exc).strip(), entry["where"]))
    return cur.fetchone()[0]


def resolve(cur, entries, discover_columns=None):
    """Split entries into (usable, missing) after optional discovery."""
    if discover_columns:
        entries = merge_discovered(entries, discover(cur, discover_columns))
    usable, missing = [], []
    for entry in entries:
        reason = check_entry(cur, entry)
        if reason:
            missing.append(dict(entry, reason=reason))
        else:
            usable.append(entry)
    return usable, missing


def report(cur, entries, since, discover_columns=None):
    """Per-table counts of rows created at or after ``since`` (one snapshot: caller's transaction)."""
    usable, missing = resolve(cur, entries, discover_columns)
    tables = []
    for entry in usable:
        tables.append({"schema": entry["schema"], "table": entry["table"], "label": entry["label"],
                       "timestamp_column": entry["timestamp_column"], "rows": count_rows(cur, entry, since),
                       "missing": False})
    for entry in missing:
        tables.append({"schema": entry["schema"], "table": entry["table"], "label": entry["label"],
                       "timestamp_column": entry["timestamp_column"], "rows": None, "missing": True,
                       "reason": entry["reason"]})
    cur.execute("SELECT now()")
    snapshot = cur.fetchone()[0]
    return {
        "tables": tables,
        "counts": dict((t["label"], t["rows"]) for t in tables if not t["missing"]),
        "total_rows": sum(t["rows"] for t in tables if not t["missing"]),
        "missing_tables": [{"table": "%s.%s" % (e["schema"], e["table"]), "reason": e["reason"]} for e in missing],
        "snapshot_at": snapshot,
        "usable": usable,
    }


# ---------------------------------------------------------------- export

def primary_key(cur, schema, table):
    cur.execute("SELECT a.attname FROM pg_catalog.pg_index i "
                "JOIN pg_catalog.pg_class c ON c.oid = i.indrelid "
                "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                "JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY(i.indkey) "
                "WHERE i.indisprimary AND n.nspname = %s AND c.relname = %s "
                "ORDER BY array_position(i.indkey::int2[], a.attnum)", (schema, table))
    return [r[0] for r in cur.fetchall()]


def columns_of(cur, schema, table):
    cur.execute("SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s "
                "ORDER BY ordinal_position", (schema, table))
    return [r[0] for r in cur.fetchall()]


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


class AtomicFile(object):
    """A 0600 file written under a temporary name and renamed into place on success."""

    def __init__(self, path):
        self.path = path
        fd, self.tmp = tempfile.mkstemp(prefix=".tmp-", dir=os.path.dirname(path))
        os.fchmod(fd, 0o600)
        self.handle = os.fdopen(fd, "wb")
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data):
        if not isinstance(data, bytes):
            data = data.encode("utf-8")
        self.handle.write(data)
        self.digest.update(data)
        self.size += len(data)

    def commit(self):
        self.handle.close()
        os.rename(self.tmp, self.path)

    def abort(self):
        self.handle.close()
        if os.path.exists(self.tmp):
            os.unlink(self.tmp)


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
                "primary_key": pk, "columns": cols, "model": label}
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
            for text in _stream_json_rows(conn, entry, since, itersize):
                out.write(text + "\n")
                rows += 1
        out.commit()
    except Exception:
        out.abort()
        raise
    return {"schema": entry["schema"], "table": entry["table"], "label": entry["label"], "rows": rows,
            "file": os.path.basename(out.path), "sha256": out.digest.hexdigest(), "bytes": out.size,
            "primary_key": pk, "columns": cols}
