"""The database steps against a managed PostgreSQL (issue 19, shape 3): real ansible-playbook runs on
localhost, a client host without become (this machine has no sudo: a become would fail), over TCP with a
scram password and TLS, as the application's owner role with CREATEDB - no superuser, no access to the
server's files. The same tasks as the socket shape: only rollback_db_login differs."""
from __future__ import annotations

import datetime
import json
import os
import re
import stat
import subprocess
import uuid

import psycopg2
import pytest

from playbook_runner import run_playbook

PLAYBOOK = """
- name: The database steps of a rollback, over TCP without become
  hosts: localhost
  gather_facts: false
  tasks:
    - name: The checklist, backup and the login's privileges
      ansible.builtin.include_role:
        name: runbooks.rollback.preflight
      vars:
        preflight_check_backup: true
        preflight_check_code: false
        preflight_check_migrations: false
        preflight_rollback_id: ""
        preflight_deployed_at: "{{ rollback_deployed_at }}"

    - name: Restore ahead
      ansible.builtin.include_role:
        name: runbooks.rollback.db_rollback
        tasks_from: prepare
      vars:
        db_rollback_backup: "{{ preflight_result.backup }}"

    - name: The database phase, swapping the copy restored ahead
      ansible.builtin.include_role:
        name: runbooks.rollback.db_rollback
      vars:
        db_rollback_backup: "{{ preflight_result.backup }}"
        db_rollback_prepared_backup: "{{ preflight_result.backup.path }}"
        db_rollback_first_attempt: true
        db_rollback_dump_after_swap: true

    - name: Re-import
      ansible.builtin.include_role:
        name: runbooks.rollback.data_recovery
      vars:
        data_recovery_src: "{{ db_rollback_result.export_dir }}"

    - name: The dump left for after the swap
      ansible.builtin.include_role:
        name: runbooks.rollback.db_rollback
        tasks_from: dump_kept

    - name: Show the results
      ansible.builtin.debug:
        msg: "RESULT {{ {'preflight': preflight_result.db_login, 'db': db_rollback_result,
                        'recovered': data_recovery_result.total_inserted} | to_json }}"
"""


@pytest.fixture()
def managed(pg_tcp_server, tmp_path):
    """od_app_<x> (LOGIN CREATEDB, scram password) owning app_<x>, a pre-deployment backup of it, and
    rows written since the deployment."""
    suffix = uuid.uuid4().hex[:8]
    role, db = "od_app_" + suffix, "app_" + suffix
    secret = "Pw-" + uuid.uuid4().hex
    admin = psycopg2.connect(host=pg_tcp_server["host"], port=pg_tcp_server["port"], user="postgres", dbname="postgres")
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute("CREATE ROLE %s LOGIN CREATEDB PASSWORD %%s" % role, (secret,))
        cur.execute("CREATE DATABASE %s OWNER %s" % (db, role))

    def as_owner(query, dbname=db):
        conn = psycopg2.connect(host="127.0.0.1", port=pg_tcp_server["port"], user=role, password=secret,
                                dbname=dbname, sslmode="require")
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute(query)
                return cur.fetchall() if cur.description else None
        finally:
            conn.close()

    as_owner("""
        CREATE TABLE django_migrations (id serial PRIMARY KEY, app text, name text, applied timestamptz);
        CREATE TABLE auth_user (id serial PRIMARY KEY, username text UNIQUE, date_joined timestamptz NOT NULL);
        CREATE TABLE course_catalog_podcast (id serial PRIMARY KEY, title text, created_on timestamptz NOT NULL);
        INSERT INTO django_migrations (app, name, applied) VALUES ('auth', '0001_initial', '2026-01-01T00:00:00Z');
        INSERT INTO auth_user (username, date_joined) VALUES ('old1', '2026-01-01T00:00:00Z'),
                                                             ('old2', '2026-01-02T00:00:00Z');
    """)
    backups = tmp_path / "backups"
    backups.mkdir()
    backup = backups / ("%s.dump" % db)
    env = dict(os.environ, PGPASSWORD=secret, PGSSLMODE="require")
    subprocess.run([os.path.join(pg_tcp_server["bin"], "pg_dump"), "--format=custom", "-h", "127.0.0.1",
                    "-p", str(pg_tcp_server["port"]), "-U", role, "-f", str(backup), db], env=env, check=True)
    # The backup was taken before the deployment; the bad deployment's migration and the rows since.
    deployed = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=1)
    old = deployed.timestamp() - 3600
    os.utime(backup, (old, old))
    deployed_at = deployed.strftime("%Y-%m-%dT%H:%M:%SZ")
    as_owner("""
        INSERT INTO django_migrations (app, name, applied) VALUES ('auth', '0002_bad', now());
        CREATE TABLE bad_new_table (id int);
        INSERT INTO auth_user (username, date_joined) VALUES ('new1', '%(at)s'::timestamptz + interval '1 hour'),
                                                             ('new2', '%(at)s'::timestamptz + interval '2 hours');
        INSERT INTO course_catalog_podcast (title, created_on) VALUES ('pod', '%(at)s'::timestamptz + interval '1 hour');
    """ % {"at": deployed_at})
    login = {"login_host": "127.0.0.1", "login_port": pg_tcp_server["port"], "login_user": role,
             "login_password": secret, "ssl_mode": "verify-full", "ca_cert": pg_tcp_server["ca_cert"]}
    try:
        yield {"role": role, "db": db, "secret": secret, "login": login, "backup": str(backup),
               "deployed_at": deployed_at, "as_owner": as_owner, "work": tmp_path / "work", "admin": admin}
    finally:
        with admin.cursor() as cur:
            cur.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", (db + "%",))
            for (name,) in cur.fetchall():
                cur.execute('DROP DATABASE "%s" WITH (FORCE)' % name)
            cur.execute("DROP ROLE %s" % role)
        admin.close()


def shown(out):
    """The RESULT the playbook's last task shows."""
    for line in out.splitlines():
        if '"msg": "RESULT ' in line:
            return json.loads(json.loads(line.split('"msg": ', 1)[1])[len("RESULT "):])
    raise AssertionError("no RESULT in the output")


def operator_vars(managed, **extra):
    return dict({
        "rollback_environment": "staging",
        "rollback_deployed_at": managed["deployed_at"],
        "rollback_db_name": managed["db"],
        "rollback_db_owner": managed["role"],
        "rollback_db_login": managed["login"],
        "rollback_backup_file": managed["backup"],
        "rollback_work_root": str(managed["work"]),
        "rollback_verify_tables": ["django_migrations", "auth_user"],
        "rollback_id": "T1",
    }, **extra)


def test_the_database_steps_run_over_tcp_as_the_app_owner_without_become(tmp_path, managed):
    run = run_playbook(tmp_path, PLAYBOOK, operator_vars(managed))
    out = run.stdout + run.stderr
    (tmp_path / "run.log").write_text(out)
    assert run.returncode == 0, out[-6000:]
    # Restored: the bad migration and its table are gone, the rows written since re-imported.
    rows = managed["as_owner"]("SELECT username FROM auth_user ORDER BY id")
    assert [name for (name,) in rows] == ["old1", "old2", "new1", "new2"]
    assert managed["as_owner"]("SELECT count(*) FROM django_migrations WHERE name = '0002_bad'") == [(0,)]
    assert managed["as_owner"]("SELECT to_regclass('bad_new_table') IS NULL") == [(True,)]
    assert managed["as_owner"]("SELECT count(*) FROM course_catalog_podcast") == [(1,)]
    # The database kept from before the rollback, owned by the app's role; the scratch gone.
    with managed["admin"].cursor() as cur:
        cur.execute("SELECT datname, pg_get_userbyid(datdba) FROM pg_database WHERE datname LIKE %s ORDER BY 1",
                    (managed["db"] + "%",))
        assert cur.fetchall() == [(managed["db"], managed["role"]),
                                  (managed["db"] + "_pre_rollback_T1", managed["role"])]
    # The dump made after the swap from the kept database, a complete archive, 0600, the connection user's.
    work = managed["work"] / "T1"
    dump = work / ("%s_pre_rollback.pgc" % managed["db"])
    info = os.stat(dump)
    assert stat.S_IMODE(info.st_mode) == 0o600 and info.st_uid == os.geteuid()
    assert stat.S_IMODE(os.stat(work).st_mode) == 0o700 and os.stat(work).st_uid == os.geteuid()
    listing = subprocess.run(["/usr/lib/postgresql/15/bin/pg_restore", "--list", str(dump)],
                             capture_output=True, text=True, check=True).stdout
    assert "bad_new_table" in listing, "the dump is not of the state before the rollback"
    assert not (work / ".pgpass").exists() and not list(work.glob("*.partial"))
    result = shown(out)
    assert result["preflight"] == {"role": managed["role"], "superuser": False}
    assert result["db"]["restored_ahead"] is True and result["db"]["loss"]["counts"] == {"users": 2, "podcasts": 1}
    assert result["recovered"] == 3
    # community.postgresql 4 deprecates `port`: the login says login_port, which every module takes.
    assert "Alias 'port' is deprecated" not in out


@pytest.fixture()
def verbose_run(tmp_path, managed, monkeypatch):
    monkeypatch.setenv("ANSIBLE_VERBOSITY", "3")
    return run_playbook(tmp_path, PLAYBOOK, operator_vars(managed)), managed


def test_vvv_shows_the_libpq_environment_but_never_the_password(tmp_path, verbose_run):
    run, managed = verbose_run
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-6000:]
    assert managed["secret"] not in out
    # The client tools connect from libpq's environment; the password only through the pgpass file.
    assert "PGHOST=127.0.0.1" in out and "PGSSLMODE=verify-full" in out and "PGPASSFILE=" in out
    assert "PGPASSWORD" not in out
    leaks = subprocess.run(["grep", "-rl", "--", managed["secret"], str(managed["work"]), str(tmp_path)],
                           capture_output=True, text=True, check=False)
    assert leaks.returncode == 1, leaks.stdout


def test_a_login_without_createdb_is_refused_by_the_checklist_naming_the_grant(tmp_path, managed):
    with managed["admin"].cursor() as cur:
        cur.execute("ALTER ROLE %s NOCREATEDB" % managed["role"])
    run = run_playbook(tmp_path, PLAYBOOK, operator_vars(managed))
    out = run.stdout + run.stderr
    assert run.returncode != 0
    assert "Check that the database login may do every step of the restore" in out
    assert 'ALTER ROLE \\"%s\\" CREATEDB;' % managed["role"] in out or \
        'ALTER ROLE "%s" CREATEDB;' % managed["role"] in out
    # Refused before anything: no work directory, no scratch database.
    assert not managed["work"].exists()
    with managed["admin"].cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_database WHERE datname LIKE %s", (managed["db"] + "_%",))
        assert cur.fetchone() == (0,)


def _nothing_was_restored(managed):
    assert not managed["work"].exists()
    with managed["admin"].cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_database WHERE datname LIKE %s", (managed["db"] + "_%",))
        assert cur.fetchone() == (0,)


def test_client_tools_older_than_the_server_are_refused_by_the_checklist(tmp_path, managed):
    # This machine has only PostgreSQL 15's tools: an older pg_dump is one that says it is (pg_dump
    # 12 would refuse to dump this 15 server at the dump of the current state, after the swap).
    old_bin = tmp_path / "pg12" / "bin"
    old_bin.mkdir(parents=True)
    (old_bin / "pg_dump").write_text("#!/bin/sh\necho 'pg_dump (PostgreSQL) 12.22'\n")
    (old_bin / "pg_dump").chmod(0o755)
    run = run_playbook(tmp_path, PLAYBOOK, operator_vars(managed, rollback_db_pg_bin=str(old_bin)))
    out = run.stdout + run.stderr
    assert run.returncode != 0
    assert "pg_dump in %s on localhost is PostgreSQL 12, older than the server (15." % old_bin in out, out[-3000:]
    assert "set rollback_db_pg_bin to their directory (/usr/lib/postgresql/15/bin on Debian" in out
    _nothing_was_restored(managed)


def test_a_client_tools_directory_without_pg_dump_is_refused_by_the_checklist(tmp_path, managed):
    run = run_playbook(tmp_path, PLAYBOOK, operator_vars(managed, rollback_db_pg_bin=str(tmp_path / "nowhere")))
    out = run.stdout + run.stderr
    assert run.returncode != 0
    assert "There is no working pg_dump in %s on localhost" % (tmp_path / "nowhere") in out, out[-3000:]
    _nothing_was_restored(managed)


def test_the_decide_validation_refuses_a_login_host_without_login_user(tmp_path, managed):
    book = """
- name: Validate
  hosts: localhost
  gather_facts: false
  vars_files:
    - %s/playbooks/vars/operator_variables.yml
  tasks:
    - name: Check every variable the operator set
      ansible.builtin.validate_argument_spec:
        argument_spec: "{{ operator_variables_spec }}"
""" % os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    good = operator_vars(managed)
    run = run_playbook(tmp_path, book, good)
    assert run.returncode == 0, run.stdout[-3000:]
    bad = dict(good, rollback_db_login={"login_host": "db.example", "login_password": "x"})
    run = run_playbook(tmp_path, book, bad)
    assert run.returncode != 0 and "login_user" in run.stdout, run.stdout[-3000:]
    bad = dict(good, rollback_db_login=dict(managed["login"], ssl_mode="required"))
    run = run_playbook(tmp_path, book, bad)
    assert run.returncode != 0 and "ssl_mode" in run.stdout and "verify-full" in run.stdout, run.stdout[-3000:]
    bad = dict(good, rollback_db_login=dict(managed["login"], connect_timeout=5))
    run = run_playbook(tmp_path, book, bad)
    assert run.returncode != 0 and "connect_timeout" in run.stdout, run.stdout[-3000:]
    assert managed["secret"] not in run.stdout


# --- a failed phase's rescue, over TCP ---------------------------------------------------------------

RESCUE_PLAYBOOK = """
- name: Restore ahead, recorded in the state file
  hosts: db
  gather_facts: false
  roles: [runbooks.rollback.rollback]
  tasks:
    - name: Restore into the scratch database while the site serves
      ansible.builtin.include_role:
        name: runbooks.rollback.phase
        tasks_from: run
      vars:
        phase_name: restore_ahead
        phase_steps:
          - name: Restore into the scratch database and verify it
            role: runbooks.rollback.db_rollback
            tasks_from: prepare
            hosts: "{{ groups['db'][:1] }}"
        phase_details:
          backup_file: "{{ db_rollback_result.backup_file }}"
          scratch_db: "{{ db_rollback_result.scratch_db }}"
          prepared: true

- name: The stop, with nothing to stop on the db host
  hosts: db
  gather_facts: false
  roles: [runbooks.rollback.rollback]
  tasks:
    - name: Stop nothing
      ansible.builtin.include_role:
        name: runbooks.rollback.phase
        tasks_from: run
      vars:
        phase_name: stop
        phase_steps: []
"""

FAIL_PLAYBOOK = """
- name: A later phase fails
  hosts: db
  gather_facts: false
  roles: [runbooks.rollback.rollback]
  tasks:
    - name: Fail in the database phase, before the swap
      ansible.builtin.include_role:
        name: runbooks.rollback.phase
        tasks_from: run
      vars:
        phase_name: database
        phase_on_failure: restore_services
        verify_http_retries: 0
        phase_steps:
          - name: Call a URL nothing answers
            role: runbooks.rollback.verify
            tasks_from: smoke
            hosts: "{{ groups['db'][:1] }}"
"""

# As sudo, but refusing any user but root: the state file is written as root (become: true), a
# database step that still became postgres fails the run.
FAKE_SUDO = """#!/bin/sh
user=root
while [ $# -gt 0 ]; do
  case "$1" in
    -u) user=$2; shift 2 ;;
    -*) shift ;;
    *) break ;;
  esac
done
if [ "$user" != root ]; then echo "fake sudo: a become of $user was tried" >&2; exit 1; fi
exec "$@"
"""


def rescue_run(tmp_path, managed, rollback_id, between=None):
    """The restore ahead and the stop, then (after ``between``) a database phase that fails before the swap, with
    restore_services."""
    sudo = tmp_path / "fake-sudo"
    sudo.write_text(FAKE_SUDO)
    sudo.chmod(0o755)
    inventory = tmp_path / "hosts.yml"
    inventory.write_text("all:\n  children:\n    db:\n      hosts:\n        localhost:\n")
    extra = operator_vars(managed, rollback_id=rollback_id, rollback_state_dir=str(tmp_path / "state"),
                          rollback_base_url="http://127.0.0.1:9", rollback_smoke_urls=[{"path": "/"}],
                          ansible_become_exe=str(sudo))
    ahead = run_playbook(tmp_path, RESCUE_PLAYBOOK, extra, inventory=str(inventory))
    assert ahead.returncode == 0, (ahead.stdout + ahead.stderr)[-4000:]
    if between:
        between()
    run = run_playbook(tmp_path, FAIL_PLAYBOOK, extra, inventory=str(inventory))
    out = run.stdout + run.stderr
    (tmp_path / "run.log").write_text(out)
    assert run.returncode != 0
    assert "a become of" not in out, out[-4000:]
    assert "Rollback %s stopped in phase database" % rollback_id in out, out[-4000:]
    assert managed["secret"] not in out
    return out, json.loads((tmp_path / "state" / ("%s.json" % rollback_id)).read_text())


def _task(out, role, task, outcome):
    return re.search(r"TASK \[runbooks\.rollback\.%s : %s\] \**\n%s: \[localhost\]" % (role, task, outcome), out)


def test_the_rescue_drops_the_copy_restored_ahead_over_tcp_without_become(tmp_path, managed):
    out, record = rescue_run(tmp_path, managed, "T2")
    # The database role, asked by the rescue, found over TCP that the swap had not happened, and dropped
    # the copy it made ahead.
    assert _task(out, "db_rollback", "Find out whether the database was already swapped", "ok"), out[-4000:]
    assert _task(out, "db_rollback", "Drop the copy restored ahead of the stop when it was not swapped in", "changed")
    with managed["admin"].cursor() as cur:
        cur.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", (managed["db"] + "_%",))
        assert cur.fetchall() == []
    assert record["phases"]["database"]["status"] == "failed"
    # Untouched (not swapped): restore_services forgot the stop; the copy dropped, the restore ahead forgotten.
    assert "The services were started again on the pre-rollback state (database and code untouched)" in out
    assert [e["phase"] for e in record["events"] if e["status"] == "reset"] == ["restore_ahead", "stop"]
    assert "restore_ahead" not in record["phases"] and "stop" not in record["phases"]
    assert "Completed phases: none." in out, out[-4000:]


def test_a_copy_the_rescue_cannot_drop_is_said_and_kept_for_the_resume(tmp_path, managed):
    # The scratch database given to another owner: the application's role may not drop it.
    def give_away():
        with managed["admin"].cursor() as cur:
            cur.execute('ALTER DATABASE "%s_rollback_T3" OWNER TO postgres' % managed["db"])
    out, record = rescue_run(tmp_path, managed, "T3", between=give_away)
    scratch = managed["db"] + "_rollback_T3"
    assert ("WARNING: the copy restored ahead, %s, could not be dropped on localhost (" % scratch) in out, out[-4000:]
    assert "a resumed run swaps it in, or drop it by hand: DROP DATABASE %s WITH (FORCE);" % scratch in out
    with managed["admin"].cursor() as cur:
        cur.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", (managed["db"] + "_%",))
        assert cur.fetchall() == [(scratch,)]
    # The copy left is the resume's: the restore ahead stays completed, the rest of the rescue went on.
    assert record["phases"]["restore_ahead"]["status"] == "completed"
    assert record["phases"]["database"]["status"] == "failed" and "stop" not in record["phases"]
    assert "Completed phases: restore_ahead." in out
    assert "The services were started again on the pre-rollback state (database and code untouched)" in out
