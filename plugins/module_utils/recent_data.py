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
        self.lines = 0

    def write(self, data):
        if not isinstance(data, bytes):
            data = data.encode("utf-8")
        self.handle.write(data)
        self.digest.update(data)
        self.size += len(data)
        self.lines += data.count(b"\n")

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
            "primary_key": pk, "columns": cols}


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
    out = AtomicFile(os.path.join(dest, "manifest.json"))
    out.write(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    out.commit()
    return out.path


# ---------------------------------------------------------------- import

def read_manifest(src):
    path = os.path.join(src, "manifest.json")
    try:
        with open(path) as handle:
            manifest = json.load(handle)
    except (IOError, OSError) as exc:
        raise SpecError("cannot read %s: %s; src must be a directory written by recent_data_export" % (path, exc))
    except ValueError as exc:
        raise SpecError("%s is not valid JSON (%s): the export is damaged; export again" % (path, exc))
    if manifest.get("format") != "jsonl":
        raise SpecError("export %s is in format %r; recent_data_import reads the jsonl format "
                        "(use manage.py loaddata for django_fixture)" % (src, manifest.get("format")))
    return manifest


def file_sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_files(src, manifest):
    for item in manifest["tables"]:
        path = os.path.join(src, item["file"])
        if not os.path.isfile(path):
            raise SpecError("export file %s listed in the manifest is missing; nothing was imported" % path)
        actual = file_sha256(path)
        if actual != item["sha256"]:
            raise SpecError("export file %s has sha256 %s but the manifest says %s: it changed since the export; "
                            "nothing was imported" % (path, actual, item["sha256"]))


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
    with open(path) as handle:
        for number, line in enumerate(handle, 1):
            row = json.loads(line)
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
