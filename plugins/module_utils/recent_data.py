# -*- coding: utf-8 -*-
# Copyright: (c) 2026, runbooks.rollback developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rows created since the deployment: which tables, how many rows (the data-loss report).

The model and the queries the report, the export (``recent_export``) and the import
(``recent_import``) share: the ``tables`` entries, their discovery and checks, the catalog
lookups and the "created since" condition.

Identifiers always go through ``psycopg2.sql.Identifier``; values are query parameters.
``where`` conditions are trusted operator input (from the inventory), passed as SQL.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.runbooks.rollback.plugins.module_utils.postgres import PostgresError, psycopg2, sql

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


def recent_rows_argument_spec():
    """Options choosing the rows created since the deployment (see the recent_data doc fragment)."""
    return dict(
        since=dict(type="str", required=True),
        tables=dict(type="list", elements="dict", options=table_entry_spec()),
        discover=dict(type="bool", default=False),
        discover_columns=dict(type="list", elements="str", default=list(DEFAULT_DISCOVER_COLUMNS)),
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


def table_exists(cur, schema, table):
    cur.execute("SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = %s AND c.relname = %s AND c.relkind IN ('r', 'p')", (schema, table))
    return cur.fetchone() is not None


def check_entries(cur, entries):
    """For each entry, None when it is usable, else the reason it is missing (one catalog query)."""
    if not entries:
        return []
    cur.execute(
        "SELECT c.oid IS NOT NULL, pg_catalog.format_type(a.atttypid, NULL) "
        "FROM unnest(%s::text[], %s::text[], %s::text[]) WITH ORDINALITY AS e(nsp, rel, col, ord) "
        "LEFT JOIN pg_catalog.pg_namespace n ON n.nspname = e.nsp "
        "LEFT JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = e.rel AND c.relkind IN ('r', 'p') "
        "LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attname = e.col "
        "AND a.attnum > 0 AND NOT a.attisdropped "
        "ORDER BY e.ord",
        ([e["schema"] for e in entries], [e["table"] for e in entries], [e["timestamp_column"] for e in entries]))
    reasons = []
    for entry, (exists, ctype) in zip(entries, cur.fetchall()):
        where = "%s.%s" % (entry["schema"], entry["table"])
        if not exists:
            reasons.append("table %s does not exist" % where)
        elif ctype is None:
            reasons.append("column %s does not exist in %s" % (entry["timestamp_column"], where))
        elif ctype not in TIMESTAMP_TYPES:
            reasons.append("column %s of %s is %s, not a timestamp" % (entry["timestamp_column"], where, ctype))
        else:
            reasons.append(None)
    return reasons


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


def table_columns(cur, schema, table):
    """Columns of a table from the catalog (information_schema shows only those the login may read)."""
    cur.execute("SELECT a.attname FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid "
                "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = %s AND c.relname = %s AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
                (schema, table))
    return [r[0] for r in cur.fetchall()]


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
    for entry, reason in zip(entries, check_entries(cur, entries)):
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
