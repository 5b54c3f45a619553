"""affected_users against a real PostgreSQL database and a real export of recent_data_export."""
from __future__ import annotations

import json
import os
import stat

import pytest

from ansible_collections.runbooks.rollback.plugins.modules import affected_users, recent_data_export
from module_runner import run_module, warning_messages

DEPLOYED = "2026-11-24T10:00:00Z"
TABLES = [
    {"table": "auth_user", "timestamp_column": "date_joined", "label": "users"},
    {"table": "course_catalog_podcast", "timestamp_column": "created_on", "label": "podcasts"},
    {"table": "channels_channel", "timestamp_column": "created_on", "label": "channels"},
]
SCHEMA = '''
CREATE TABLE auth_user (id serial PRIMARY KEY, username text UNIQUE NOT NULL, email text NOT NULL,
                        date_joined timestamptz NOT NULL, last_login timestamptz);
CREATE TABLE course_catalog_podcast (id serial PRIMARY KEY, title text NOT NULL, created_on timestamptz NOT NULL,
                                     owner_id integer REFERENCES auth_user (id), editor_id integer);
CREATE TABLE channels_channel (id serial PRIMARY KEY, name text NOT NULL, created_on timestamptz NOT NULL);
INSERT INTO auth_user (id, username, email, date_joined) VALUES
  (1, 'alice.before', 'alice.before@example.org', '2026-11-20T09:00:00Z'),
  (2, 'bob.before', 'bob.before@example.org', '2026-11-21T09:00:00Z');
INSERT INTO course_catalog_podcast (id, title, created_on, owner_id) VALUES (1, 'Old show', '2026-11-22T09:00:00Z', 1);
INSERT INTO channels_channel (id, name, created_on) VALUES (1, 'old', '2026-11-22T09:00:00Z');
'''
# Written after the deployment: what the export holds.
AFTER_DEPLOYMENT = '''
INSERT INTO auth_user (id, username, email, date_joined) VALUES
  (3, 'carol.new', 'carol.new@example.org', '2026-11-24T10:05:00Z'),
  (4, 'dave.new', 'dave.new@example.org', '2026-11-24T10:06:00Z'),
  (5, 'erin.new', 'erin.new@example.org', '2026-11-24T11:00:00Z');
INSERT INTO course_catalog_podcast (id, title, created_on, owner_id, editor_id) VALUES
  (2, 'Carol show', '2026-11-24T10:30:00Z', 3, 1),
  (3, 'Bob show', '2026-11-24T10:31:00Z', 2, 1),
  (4, 'Nobody''s show', '2026-11-24T10:32:00Z', NULL, 2),
  (5, 'Dave show', '2026-11-24T10:33:00Z', 4, 2),
  (6, 'Dave kept show', '2026-11-24T10:34:00Z', 4, NULL);
INSERT INTO channels_channel (id, name, created_on) VALUES
  (2, 'lost channel', '2026-11-24T10:40:00Z'), (3, 'kept channel', '2026-11-24T10:41:00Z');
'''
# What the restore and the re-import leave: carol and her show gone, erin's id taken by someone
# else (another row: another creation time), dave's show replaced under its key, bob's and nobody's
# show gone, one channel gone. Dave himself logged in again since his re-import, and Dave kept show
# was renamed: the same rows (same creation time), changed since, are not lost.
AFTER_RESTORE = '''
DELETE FROM course_catalog_podcast WHERE id IN (2, 3, 4);
DELETE FROM auth_user WHERE id = 3;
UPDATE auth_user SET username = 'someone.else', email = 'someone.else@example.org',
                     date_joined = '2026-11-19T08:00:00Z' WHERE id = 5;
UPDATE course_catalog_podcast SET title = 'Another show', created_on = '2026-11-18T08:00:00Z' WHERE id = 5;
UPDATE auth_user SET last_login = '2026-11-24T12:00:00Z' WHERE id = 4;
UPDATE course_catalog_podcast SET title = 'Dave kept show, renamed' WHERE id = 6;
DELETE FROM channels_channel WHERE id = 2;
'''
PERSONAL = ["example.org", "carol", "dave", "erin", "bob", "alice", "someone"]


@pytest.fixture()
def app(pg_conn, pg_db):
    with pg_conn.cursor() as cur:
        cur.execute(SCHEMA)
        cur.execute(AFTER_DEPLOYMENT)
    return pg_db


def export(capsys, db, dest, fmt="jsonl"):
    result, failed = run_module(recent_data_export, dict(db["module_args"], since=DEPLOYED, dest=str(dest),
                                                         tables=TABLES, format=fmt), capsys)
    assert not failed, result
    return dest


@pytest.fixture()
def restored(capsys, app, pg_conn, tmp_path):
    """The export of the rows written since the deployment, then the database as the restore left it."""
    src = export(capsys, app, tmp_path / "recent-data")
    with pg_conn.cursor() as cur:
        cur.execute(AFTER_RESTORE)
    return src


def affected(capsys, db, src, dest, **args):
    return run_module(affected_users, dict(db["module_args"], src=str(src), dest=str(dest), **args), capsys)


def read(path):
    with open(str(path)) as handle:
        return json.load(handle)


def mode(path):
    return stat.S_IMODE(os.stat(str(path)).st_mode)


def test_lost_rows_per_state_and_the_users_behind_them(capsys, app, restored, tmp_path):
    dest = tmp_path / "affected_users.json"
    result, failed = affected(capsys, app, restored, dest)
    assert not failed, result
    assert result["changed"] is True and result["dest"] == str(dest)
    assert result["tables"] == {
        "public.auth_user": {"checked": 3, "lost": 2, "missing": 1, "conflict": 1},
        "public.course_catalog_podcast": {"checked": 5, "lost": 4, "missing": 3, "conflict": 1},
        "public.channels_channel": {"checked": 2, "lost": 1, "missing": 1, "conflict": 0},
    }
    assert (result["rows_checked"], result["rows_lost"], result["rows_recovered"]) == (10, 7, 3)
    assert result["users_affected"] == 4          # bob, carol, dave, erin
    assert result["rows_without_user"] == 2       # nobody's show, the lost channel
    assert result["missing_tables"] == []
    assert result["user_columns"] == {"public.auth_user": "id", "public.course_catalog_podcast": "owner_id"}
    # Nothing personal in what Ansible shows and logs.
    text = json.dumps(result)
    assert not [p for p in PERSONAL if p in text], text

    assert mode(dest) == 0o600
    content = read(dest)
    assert set(content) == {"generated_at", "database", "source", "since", "rows_lost", "users"}
    assert content["database"] == app["dbname"] and content["source"] == str(restored)
    assert content["rows_lost"] == 7 and content["since"].startswith("2026-11-24T10:00:00")
    assert content["generated_at"].endswith("Z")
    podcast = "public.course_catalog_podcast"
    assert content["users"] == [
        # A user from before the deployment: fields from the live user table.
        {"id": 2, "username": "bob.before", "email": "bob.before@example.org",
         "rows": [{"table": podcast, "key": {"id": 3}, "state": "missing"}]},
        # A new user lost with her show: fields from the export.
        {"id": 3, "username": "carol.new", "email": "carol.new@example.org",
         "rows": [{"table": "public.auth_user", "key": {"id": 3}, "state": "missing"},
                  {"table": podcast, "key": {"id": 2}, "state": "missing"}]},
        {"id": 4, "username": "dave.new", "email": "dave.new@example.org",
         "rows": [{"table": podcast, "key": {"id": 5}, "state": "conflict"}]},
        # Her id is someone else's now: she is told, not the one who holds it.
        {"id": 5, "username": "erin.new", "email": "erin.new@example.org",
         "rows": [{"table": "public.auth_user", "key": {"id": 5}, "state": "conflict"}]},
    ]
    assert not [n for n in os.listdir(str(tmp_path)) if n.startswith(".tmp-")]


def test_a_second_run_finds_the_same_and_leaves_the_file(capsys, app, restored, tmp_path):
    dest = tmp_path / "affected_users.json"
    first, failed = affected(capsys, app, restored, dest)
    assert not failed and first["changed"] is True
    written = read(dest)
    inode = os.stat(str(dest)).st_ino
    again, failed = affected(capsys, app, restored, dest)
    assert not failed, again
    assert again["changed"] is False
    assert read(dest) == written and os.stat(str(dest)).st_ino == inode
    assert dict(again, changed=True) == first


def test_check_mode_computes_everything_and_writes_nothing(capsys, app, restored, tmp_path):
    dest = tmp_path / "affected_users.json"
    result, failed = affected(capsys, app, restored, dest, _ansible_check_mode=True)
    assert not failed, result
    assert result["changed"] is True and result["rows_lost"] == 7 and result["users_affected"] == 4
    assert not dest.exists()
    assert os.listdir(str(tmp_path)) == ["recent-data"]
    # Once written, check mode sees nothing to do.
    affected(capsys, app, restored, dest)
    result, failed = affected(capsys, app, restored, dest, _ansible_check_mode=True)
    assert not failed and result["changed"] is False


def test_an_existing_file_is_replaced_0600(capsys, app, restored, tmp_path):
    dest = tmp_path / "affected_users.json"
    dest.write_text('{"users": "stale"}')
    os.chmod(str(dest), 0o644)
    result, failed = affected(capsys, app, restored, dest)
    assert not failed and result["changed"] is True
    assert mode(dest) == 0o600 and len(read(dest)["users"]) == 4
    # The same users in a file someone made readable: rewritten 0600.
    os.chmod(str(dest), 0o644)
    result, failed = affected(capsys, app, restored, dest)
    assert not failed and result["changed"] is True and mode(dest) == 0o600


def test_nobody_affected_still_writes_the_file(capsys, app, pg_conn, tmp_path):
    src = export(capsys, app, tmp_path / "recent-data")
    dest = tmp_path / "affected_users.json"
    result, failed = affected(capsys, app, src, dest)
    assert not failed, result
    assert (result["rows_checked"], result["rows_lost"], result["rows_recovered"]) == (10, 0, 10)
    assert result["users_affected"] == 0 and result["rows_without_user"] == 0
    assert result["changed"] is True and mode(dest) == 0o600
    content = read(dest)
    assert content["users"] == [] and content["rows_lost"] == 0


def test_user_columns_override_the_discovery(capsys, app, restored, tmp_path):
    dest = tmp_path / "affected_users.json"
    result, failed = affected(capsys, app, restored, dest,
                              user_columns={"public.course_catalog_podcast": "editor_id"}, user_fields=["email"])
    assert not failed, result
    assert result["user_columns"] == {"public.auth_user": "id", "public.course_catalog_podcast": "editor_id"}
    # Lost shows by editor: 2 and 3 by alice (1), 4 and 5 by bob (2); plus carol's and erin's own rows.
    assert result["users_affected"] == 4 and result["rows_without_user"] == 1
    users = {u["id"]: u for u in read(dest)["users"]}
    assert sorted(users) == [1, 2, 3, 5]
    assert users[1] == {"id": 1, "email": "alice.before@example.org", "rows": [
        {"table": "public.course_catalog_podcast", "key": {"id": 2}, "state": "missing"},
        {"table": "public.course_catalog_podcast", "key": {"id": 3}, "state": "missing"}]}
    assert [r["key"]["id"] for r in users[2]["rows"]] == [4, 5]
    assert [r["table"] for r in users[3]["rows"]] == ["public.auth_user"]
    assert "username" not in users[3]


def test_user_columns_by_bare_table_name_and_for_a_table_without_foreign_key(capsys, app, pg_conn, tmp_path):
    with pg_conn.cursor() as cur:
        cur.execute("ALTER TABLE channels_channel ADD COLUMN creator integer")
        cur.execute("UPDATE channels_channel SET creator = 4 WHERE id = 2")
    src = export(capsys, app, tmp_path / "recent-data")
    with pg_conn.cursor() as cur:
        cur.execute(AFTER_RESTORE)
    dest = tmp_path / "affected_users.json"
    result, failed = affected(capsys, app, src, dest, user_columns={"channels_channel": "creator",
                                                                    "course_catalog_podcast": "owner_id"})
    assert not failed, result
    assert result["rows_without_user"] == 1       # only nobody's show now
    dave = [u for u in read(dest)["users"] if u["id"] == 4][0]
    assert {"table": "public.channels_channel", "key": {"id": 2}, "state": "missing"} in dave["rows"]


def test_several_foreign_keys_to_the_user_table_take_the_first_and_warn(capsys, app, restored, pg_conn, tmp_path):
    with pg_conn.cursor() as cur:
        cur.execute("ALTER TABLE course_catalog_podcast ADD FOREIGN KEY (editor_id) REFERENCES auth_user (id)")
    result, failed = affected(capsys, app, restored, tmp_path / "a.json")
    assert not failed, result
    assert result["user_columns"]["public.course_catalog_podcast"] == "owner_id"
    warnings = warning_messages(result)
    assert any("has 2 columns referencing public.auth_user (owner_id, editor_id)" in w for w in warnings), warnings


def test_a_table_missing_from_the_live_database_has_all_its_rows_lost(capsys, app, restored, pg_conn, tmp_path):
    with pg_conn.cursor() as cur:
        cur.execute("DROP TABLE channels_channel")
    result, failed = affected(capsys, app, restored, tmp_path / "a.json")
    assert not failed, result
    assert result["tables"]["public.channels_channel"] == {"checked": 2, "lost": 2, "missing": 2, "conflict": 0}
    assert result["missing_tables"] == [{
        "table": "public.channels_channel",
        "reason": "table public.channels_channel does not exist in the live database: all its exported rows are lost"}]
    assert result["rows_lost"] == 8 and result["rows_without_user"] == 3


def test_a_column_dropped_since_the_export_is_not_compared(capsys, app, restored, pg_conn, tmp_path):
    with pg_conn.cursor() as cur:
        # Dave's changed show differs only in a column the live table no longer has: recovered.
        cur.execute("UPDATE course_catalog_podcast SET title = 'Dave show', created_on = '2026-11-24T10:33:00Z' WHERE id = 5")
        cur.execute("UPDATE course_catalog_podcast SET editor_id = 99 WHERE id = 6")
        cur.execute("ALTER TABLE course_catalog_podcast DROP COLUMN editor_id")
    result, failed = affected(capsys, app, restored, tmp_path / "a.json")
    assert not failed, result
    assert result["tables"]["public.course_catalog_podcast"] == {"checked": 5, "lost": 3, "missing": 3, "conflict": 0}


def test_a_table_without_primary_key_is_compared_on_whole_rows(capsys, app, pg_conn, tmp_path):
    with pg_conn.cursor() as cur:
        cur.execute("CREATE TABLE events_log (user_id integer REFERENCES auth_user (id), what text, "
                    "created_on timestamptz NOT NULL)")
        cur.execute("INSERT INTO events_log VALUES (4, 'kept', '2026-11-24T10:50:00Z'), "
                    "(4, 'changed', '2026-11-24T10:51:00Z'), (2, 'gone', '2026-11-24T10:52:00Z')")
    src = tmp_path / "recent-data"
    result, failed = run_module(recent_data_export, dict(app["module_args"], since=DEPLOYED, dest=str(src), tables=[
        {"table": "events_log", "timestamp_column": "created_on"}]), capsys)
    assert not failed, result
    with pg_conn.cursor() as cur:
        cur.execute("UPDATE events_log SET what = 'changed again' WHERE what = 'changed'")
        cur.execute("DELETE FROM events_log WHERE what = 'gone'")
    result, failed = affected(capsys, app, src, tmp_path / "a.json")
    assert not failed, result
    assert result["tables"] == {"public.events_log": {"checked": 3, "lost": 2, "missing": 2, "conflict": 0}}
    users = read(tmp_path / "a.json")["users"]
    assert [(u["id"], [r["key"] for r in u["rows"]]) for u in users] == [(2, [None]), (4, [None])]


def test_a_tampered_export_is_refused(capsys, app, restored, tmp_path):
    with open(str(restored / "public.auth_user.jsonl"), "a") as handle:
        handle.write('{"id": 99, "username": "mallory", "email": "m@example.net"}\n')
    dest = tmp_path / "a.json"
    result, failed = affected(capsys, app, restored, dest)
    assert failed
    assert "changed since the export; nothing was compared" in result["msg"]
    assert not dest.exists()


@pytest.mark.parametrize("fmt", ["csv", "django_fixture"])
def test_an_export_in_another_format_is_refused(capsys, app, tmp_path, fmt):
    src = export(capsys, app, tmp_path / "recent-data", fmt=fmt)
    result, failed = affected(capsys, app, src, tmp_path / "a.json")
    assert failed
    assert "is in format '%s'; affected_users reads the jsonl format" % fmt in result["msg"]
    assert "compare its rows with the live database by hand" in result["msg"]


@pytest.mark.parametrize("setup, args, message", [
    ("none", {}, "cannot read {src}/manifest.json"),
    ("none", {}, "src must be a directory written by recent_data_export"),
    ("ok", {"dest": "{tmp}/no/such/dir/a.json"}, "the directory of dest {tmp}/no/such/dir/a.json does not exist"),
    ("ok", {"dest": "{tmp}"}, "dest {tmp} is a directory"),
    ("ok", {"user_fields": ["id", "emial"]}, "user_fields names column(s) the user table public.auth_user does not "
                                             "have: emial; it has: id, username, email"),
    ("ok", {"user_table": "accounts_user"}, "user table public.accounts_user does not exist in database"),
    ("ok", {"user_columns": {"course_catalog_podcast": "owner"}},
     "user_columns maps public.course_catalog_podcast to owner, a column its export does not have"),
    ("ok", {"user_columns": {"course_catalog_podcast": ""}}, "must map to the name of its column"),
    ("ok", {"user_columns": "owner_id"}, "user_columns"),
])
def test_bad_input(capsys, app, tmp_path, setup, args, message):
    src = tmp_path / "recent-data"
    if setup == "ok":
        export(capsys, app, src)
    args = dict((k, v.format(tmp=tmp_path) if isinstance(v, str) else v) for k, v in args.items())
    result, failed = affected(capsys, app, src, args.pop("dest", tmp_path / "a.json"), **args)
    assert failed
    assert message.format(src=src, tmp=tmp_path) in result["msg"]


def test_a_user_columns_table_not_in_the_export_is_a_warning(capsys, app, restored, tmp_path):
    result, failed = affected(capsys, app, restored, tmp_path / "a.json",
                              user_columns={"course_catalog_podcast": "owner_id", "channels_post": "author_id"})
    assert not failed, result
    assert any("user_columns names table(s) not in the export, ignored: channels_post" in w
               for w in warning_messages(result))
    assert result["users_affected"] == 4


def test_a_user_model_without_email_gets_its_list_without_it(capsys, app, restored, pg_conn, tmp_path):
    # A custom user model without email: the default fields are those the table has, with a warning.
    with pg_conn.cursor() as cur:
        cur.execute("ALTER TABLE auth_user DROP COLUMN email")
    dest = tmp_path / "a.json"
    result, failed = affected(capsys, app, restored, dest)
    assert not failed, result
    assert result["users_affected"] == 4
    assert any("has no email" in w for w in warning_messages(result)), result
    users = read(dest)["users"]
    assert [sorted(u) for u in users] == [["id", "rows", "username"]] * 4
