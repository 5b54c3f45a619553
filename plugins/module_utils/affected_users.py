# -*- coding: utf-8 -*-
# Copyright: (c) 2026, runbooks.rollback developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""After the restore and the re-import: the exported rows that are still lost, and their users.

Each row of an export of ``recent_export`` (read as ``recent_import`` reads it) is looked up in
the live database by its primary key: absent is ``missing``, present but different on the
exported columns the live table still has is ``conflict`` (another row holds its key: another
creation time, when the export names the timestamp it selected rows by), present and the same row
is recovered (``recent_import`` compares the same way for "already present").

The users' personal data only ever goes to the file the module writes; what it returns is counts.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import stat

from ansible_collections.runbooks.rollback.plugins.module_utils.private_file import write_atomic
from ansible_collections.runbooks.rollback.plugins.module_utils.postgres import PostgresError, psycopg2, sql
from ansible_collections.runbooks.rollback.plugins.module_utils.recent_data import (
    SpecError, primary_key, table_columns, table_exists)
from ansible_collections.runbooks.rollback.plugins.module_utils.recent_import import (
    existing_row, read_manifest, read_rows, verify_files)

LOST_STATES = ("missing", "conflict")
DEFAULT_USER_FIELDS = ["id", "username", "email"]


def user_foreign_keys(cur, user_schema, user_table, user_pk):
    """Single-column foreign keys to the user table's primary key: {"schema.table": [columns in table order]}."""
    cur.execute("SELECT n.nspname, c.relname, a.attname FROM pg_catalog.pg_constraint k "
                "JOIN pg_catalog.pg_class c ON c.oid = k.conrelid "
                "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                "JOIN pg_catalog.pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1] "
                "JOIN pg_catalog.pg_class rc ON rc.oid = k.confrelid "
                "JOIN pg_catalog.pg_namespace rn ON rn.oid = rc.relnamespace "
                "JOIN pg_catalog.pg_attribute r ON r.attrelid = k.confrelid AND r.attnum = k.confkey[1] "
                "WHERE k.contype = 'f' AND array_length(k.conkey, 1) = 1 "
                "AND rn.nspname = %s AND rc.relname = %s AND r.attname = %s "
                "ORDER BY n.nspname, c.relname, a.attnum", (user_schema, user_table, user_pk))
    found = {}
    for schema, table, column in cur.fetchall():
        found.setdefault("%s.%s" % (schema, table), []).append(column)
    return found


def qualified_name(item):
    return "%s.%s" % (item["schema"], item["table"])


def resolve_user_columns(manifest, discovered, explicit, user_name, user_pk):
    """The user column of each exported table: {"schema.table": column}, and the warnings.

    ``explicit`` (the option, keys ``table`` or ``schema.table``) replaces ``discovered``; the user
    table always maps to its primary key.
    """
    items = manifest["tables"]
    mapping, warnings = {}, []
    if explicit is None:
        for item in items:
            columns = discovered.get(qualified_name(item)) or []
            if columns:
                mapping[qualified_name(item)] = columns[0]
            if len(columns) > 1:
                warnings.append("table %s has %d columns referencing %s (%s): its lost rows are counted for the "
                                "user of %s; give user_columns to choose another"
                                % (qualified_name(item), len(columns), user_name, ", ".join(columns), columns[0]))
    else:
        unknown = []
        for name, column in explicit.items():
            matches = [i for i in items if name in (i["table"], qualified_name(i))]
            if not matches:
                unknown.append(name)
                continue
            if not isinstance(column, str) or not column:
                raise SpecError("user_columns: %s must map to the name of its column holding the user's id, got %r"
                                % (name, column))
            for item in matches:
                if column not in (item.get("columns") or []):
                    raise SpecError("user_columns maps %s to %s, a column its export does not have (it has: %s); "
                                    "give the column holding the user's id"
                                    % (qualified_name(item), column, ", ".join(item.get("columns") or [])))
                mapping[qualified_name(item)] = column
        if unknown:
            warnings.append("user_columns names table(s) not in the export, ignored: %s; exported: %s"
                            % (", ".join(sorted(unknown)), ", ".join(qualified_name(i) for i in items)))
    mapping[user_name] = user_pk
    return mapping, warnings


def whole_row_present(cur, schema, table, row, cols):
    """For a table without a primary key: whether a row equal on ``cols`` is there."""
    cur.execute(sql.SQL("SELECT EXISTS (SELECT 1 FROM {}.{} t WHERE (SELECT jsonb_object_agg(e.key, e.value) "
                        "FROM jsonb_each(to_jsonb(t)) e WHERE e.key = ANY(%s)) = %s::jsonb)").format(
        sql.Identifier(schema), sql.Identifier(table)), (list(cols), json.dumps(dict((c, row[c]) for c in cols))))
    return cur.fetchone()[0]


def row_state(cur, schema, table, pk, row, live_cols, created_column=None):
    """``recovered``, ``missing`` or ``conflict`` of one exported row in the live table.

    A row under its key with the same creation time (``created_column``, the timestamp the export
    selected the row by) is the same row, changed since its re-import (a user who logged in again):
    recovered. Another creation time is another row holding the key: conflict. Without a creation
    column (an older manifest), the row must be identical on every column."""
    cols = [c for c in row if c in live_cols]
    if not pk:
        return "recovered" if whole_row_present(cur, schema, table, row, cols) else "missing"
    found = existing_row(cur, schema, table, dict((k, row.get(k)) for k in pk), cols)
    if found is None:
        return "missing"
    if created_column and created_column in found and created_column in row:
        return "recovered" if found[created_column] == row[created_column] else "conflict"
    return "recovered" if found == dict((c, row[c]) for c in cols) else "conflict"


def user_key(value):
    """Users are matched by the text of their id (an int in one file, the same int in another)."""
    return value if isinstance(value, str) else json.dumps(value)


def live_users(cur, user_schema, user_table, user_pk, keys):
    """{user key: live row as JSON values} of the user table for these keys."""
    if not keys:
        return {}
    cur.execute(sql.SQL("SELECT {pk}::text, row_to_json(u)::text FROM {tbl} u WHERE {pk}::text = ANY(%s)").format(
        pk=sql.Identifier(user_pk), tbl=sql.SQL("{}.{}").format(sql.Identifier(user_schema), sql.Identifier(user_table))),
        (sorted(keys),))
    return dict((key, json.loads(text)) for key, text in cur.fetchall())


def sort_key(user):
    ident = user["id"]
    return (0, ident, "") if isinstance(ident, int) and not isinstance(ident, bool) else (1, 0, str(ident))


class Affected(object):
    """What one pass over the export finds: counts per table, and the lost rows per user."""

    def __init__(self):
        self.tables = {}
        self.missing_tables = []
        self.rows_without_user = 0
        self.lost_by_user = {}       # user key -> (id as exported, [row refs])
        self.exported_users = {}     # user key -> (exported row, state)


def check_table(cur, src, item, mapping, user_name, user_pk, found):
    """Look up every exported row of one table; count and attribute the lost ones."""
    schema, table, name = item["schema"], item["table"], qualified_name(item)
    counts = {"checked": 0, "lost": 0, "missing": 0, "conflict": 0}
    found.tables[name] = counts
    exists = table_exists(cur, schema, table)
    if exists:
        live_cols = set(table_columns(cur, schema, table))
        pk = primary_key(cur, schema, table)
    else:
        found.missing_tables.append({"table": name, "reason": "table %s does not exist in the live database: all "
                                                              "its exported rows are lost" % name})
        live_cols, pk = set(), list(item.get("primary_key") or [])
    column = mapping.get(name)
    for number, row in read_rows(src, item):
        try:
            state = row_state(cur, schema, table, pk, row, live_cols, item.get("timestamp_column")) if exists else "missing"
        except psycopg2.Error as exc:
            raise PostgresError("looking up row %d of %s (table %s) in the live database failed: %s"
                                % (number, os.path.join(src, item["file"]), name, str(exc).strip()))
        counts["checked"] += 1
        if name == user_name and row.get(user_pk) is not None:
            found.exported_users[user_key(row[user_pk])] = (row, state)
        if state not in LOST_STATES:
            continue
        counts["lost"] += 1
        counts[state] += 1
        user = row.get(column) if column else None
        if user is None:
            found.rows_without_user += 1
            continue
        key = dict((k, row.get(k)) for k in pk) if pk else None
        entry = found.lost_by_user.setdefault(user_key(user), (user, []))
        entry[1].append({"table": name, "key": key, "state": state})


def user_entries(found, live, user_pk, user_fields):
    """The users of the file: id, the fields, the lost rows.

    The fields come from the exported user row when that row itself is in conflict (the live row
    with that id is someone else), else from the live user table, else from the exported row.
    """
    users = []
    for key, (ident, rows) in found.lost_by_user.items():
        exported, state = found.exported_users.get(key, (None, None))
        if state == "conflict" or key not in live:
            source = exported
        else:
            source = live[key]
        entry = {"id": ident}
        for field in user_fields:
            if field not in ("id", user_pk):
                entry[field] = source.get(field) if source else None
        entry["rows"] = rows
        users.append(entry)
    return sorted(users, key=sort_key)


def find_affected(conn, src, user_schema, user_table, user_fields, user_columns):
    """Everything the module returns and writes, read in the caller's (read-only) transaction.

    Returns (file content without generated_at, result without dest, warnings).
    """
    manifest = read_manifest(src, reader="affected_users",
                             hint="a csv or django_fixture export cannot be compared here: compare its rows with "
                                  "the live database by hand")
    verify_files(src, manifest, consequence="nothing was compared; use the export as it was written")
    user_name = "%s.%s" % (user_schema, user_table)
    exported_user = [i for i in manifest["tables"] if qualified_name(i) == user_name]
    with conn.cursor() as cur:
        cur.execute("SELECT current_database()")
        database = cur.fetchone()[0]
        if table_exists(cur, user_schema, user_table):
            user_pk = primary_key(cur, user_schema, user_table)
            user_cols = table_columns(cur, user_schema, user_table)
        elif exported_user:
            user_pk = list(exported_user[0].get("primary_key") or [])
            user_cols = list(exported_user[0].get("columns") or [])
        else:
            raise SpecError("user table %s does not exist in database %s and is not in the export %s: give "
                            "user_table and user_schema (the table of django.contrib.auth's user model)"
                            % (user_name, database, src))
        if len(user_pk) != 1:
            raise SpecError("user table %s has %s, not a one-column primary key: its users cannot be told apart; "
                            "give the user table in user_table and user_schema"
                            % (user_name, "a primary key of %s" % ", ".join(user_pk) if user_pk else "no primary key"))
        user_pk = user_pk[0]
        # The default fields are those of django.contrib.auth's user: a custom user model without
        # one of them (no email) still gets its list, without it. Fields the operator named must exist.
        given = user_fields is not None
        user_fields = list(user_fields) if given else list(DEFAULT_USER_FIELDS)
        lacking = [f for f in user_fields if f not in user_cols and f not in ("id", user_pk)]
        if lacking and given:
            raise SpecError("user_fields names column(s) the user table %s does not have: %s; it has: %s"
                            % (user_name, ", ".join(lacking), ", ".join(user_cols)))
        user_fields = [f for f in user_fields if f not in lacking]
        discovered = user_foreign_keys(cur, user_schema, user_table, user_pk) if user_columns is None else {}
        mapping, warnings = resolve_user_columns(manifest, discovered, user_columns, user_name, user_pk)
        if lacking:
            warnings.append("the user table %s has no %s: the list of the affected users goes without it (to tell "
                            "them, give user_fields naming the columns that hold how to reach them)"
                            % (user_name, ", ".join(lacking)))
        found = Affected()
        for item in manifest["tables"]:
            check_table(cur, src, item, mapping, user_name, user_pk, found)
        live = live_users(cur, user_schema, user_table, user_pk, set(found.lost_by_user)) \
            if table_exists(cur, user_schema, user_table) else {}
    rows_checked = sum(t["checked"] for t in found.tables.values())
    rows_lost = sum(t["lost"] for t in found.tables.values())
    users = user_entries(found, live, user_pk, user_fields)
    content = {"database": database, "source": src, "since": manifest.get("since"), "rows_lost": rows_lost,
               "users": users}
    result = {"rows_checked": rows_checked, "rows_lost": rows_lost, "rows_recovered": rows_checked - rows_lost,
              "tables": found.tables, "users_affected": len(users), "rows_without_user": found.rows_without_user,
              "missing_tables": found.missing_tables, "user_columns": dict(sorted(mapping.items()))}
    return content, result, warnings


def same_file(dest, content):
    """Whether ``dest`` is a 0600 file holding ``content`` (its generated_at aside)."""
    try:
        info = os.lstat(dest)
        if not stat.S_ISREG(info.st_mode) or stat.S_IMODE(info.st_mode) != 0o600:
            return False
        with open(dest) as handle:
            old = json.load(handle)
    except (IOError, OSError, ValueError):
        return False
    if not isinstance(old, dict):
        return False
    old.pop("generated_at", None)
    return old == dict((k, v) for k, v in content.items() if k != "generated_at")


def check_dest(dest):
    directory = os.path.dirname(dest) or "."
    if os.path.isdir(dest):
        raise SpecError("dest %s is a directory; give the path of the file to write (e.g. %s)"
                        % (dest, os.path.join(dest, "affected_users.json")))
    if not os.path.isdir(directory):
        raise SpecError("the directory of dest %s does not exist: create %s (0700) or give another dest"
                        % (dest, directory))


def write_file(dest, content):
    write_atomic(dest, json.dumps(content, indent=2, sort_keys=True) + "\n")
