"""pg_rollback_privileges against a real PostgreSQL reached as a managed one is: over TCP, with a
scram password and TLS, as roles that are not superusers."""
from __future__ import annotations

import uuid

import psycopg2
import pytest

from ansible_collections.runbooks.rollback.plugins.modules import pg_rollback_privileges
from module_runner import run_module, warning_messages


class Server:
    """Arrange roles and databases on the TCP cluster (as postgres, over its trusted socket)."""

    def __init__(self, server):
        self.server = server
        self.suffix = uuid.uuid4().hex[:8]
        self.roles, self.dbs, self.sessions = [], [], []
        self.admin = psycopg2.connect(host=server["host"], port=server["port"], user="postgres", dbname="postgres")
        self.admin.autocommit = True

    def sql(self, query, dbname="postgres"):
        if dbname == "postgres":
            with self.admin.cursor() as cur:
                cur.execute(query)
            return
        conn = psycopg2.connect(host=self.server["host"], port=self.server["port"], user="postgres", dbname=dbname)
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute(query)
        finally:
            conn.close()

    def role(self, name, attributes=""):
        name = "%s_%s" % (name, self.suffix)
        self.sql("CREATE ROLE %s LOGIN PASSWORD 'pw-%s' %s" % (name, name, attributes))
        self.roles.append(name)
        return name

    def database(self, owner):
        name = "app_" + self.suffix
        self.sql("CREATE DATABASE %s OWNER %s" % (name, owner))
        self.dbs.append(name)
        self.sql("CREATE TABLE auth_user (id serial PRIMARY KEY, date_joined timestamptz);"
                 "ALTER TABLE auth_user OWNER TO %s; ALTER SEQUENCE auth_user_id_seq OWNER TO %s" % (owner, owner), name)
        return name

    def session(self, role, dbname, superuser=False):
        """A session left connected to dbname, as an application's."""
        if superuser:
            conn = psycopg2.connect(host=self.server["host"], port=self.server["port"], user=role, dbname=dbname)
        else:
            conn = psycopg2.connect(host="127.0.0.1", port=self.server["port"], user=role, password="pw-" + role,
                                    dbname=dbname)
        self.sessions.append(conn)
        return conn

    def login(self, role, **extra):
        return dict({"login_host": "127.0.0.1", "port": self.server["port"], "login_user": role,
                     "login_password": "pw-" + role, "ssl_mode": "verify-full",
                     "ca_cert": self.server["ca_cert"]}, **extra)

    def close(self):
        for conn in self.sessions:
            conn.close()
        for name in self.dbs:
            self.sql("DROP DATABASE IF EXISTS %s WITH (FORCE)" % name)
        for name in reversed(self.roles):
            self.sql("DROP ROLE IF EXISTS %s" % name)
        self.admin.close()


@pytest.fixture()
def tcp(pg_tcp_server):
    server = Server(pg_tcp_server)
    try:
        yield server
    finally:
        server.close()


def check(capsys, login, app_db, app_owner, **args):
    return run_module(pg_rollback_privileges, dict(login, app_db=app_db, app_owner=app_owner, **args), capsys)


def test_the_app_owner_with_createdb_over_tls_passes_every_check(capsys, tcp):
    # The lead's molecule login: the application's owner role, CREATEDB, ssl, over TCP.
    owner = tcp.role("od_app", "CREATEDB")
    db = tcp.database(owner)
    tcp.session(owner, db)
    result, failed = check(capsys, tcp.login(owner), db, owner, session_roles=[owner])
    assert not failed, result
    assert result["ok"] and result["missing"] == [] and result["changed"] is False
    assert result["role"] == owner and result["superuser"] is False and result["app_db_owner"] == owner
    assert result["checks"] == {"connect": True, "read": True, "createdb": True, "owner": True, "signal": True}
    assert {"role": owner, "superuser": False, "connected": True, "can_signal": True} in result["session_roles"]
    assert "pw-" not in repr(result)


def test_a_superuser_passes_every_check(capsys, tcp):
    admin = tcp.role("admin", "SUPERUSER")
    owner = tcp.role("od_app")
    db = tcp.database(owner)
    other = tcp.role("other")
    tcp.sql("GRANT CONNECT ON DATABASE %s TO %s" % (db, other))
    tcp.session(other, db)
    tcp.session("postgres", db, superuser=True)
    result, failed = check(capsys, tcp.login(admin, ssl_mode="require", ca_cert=None), db, owner)
    assert not failed, result
    assert result["superuser"] is True and all(role["can_signal"] for role in result["session_roles"])


def test_the_socket_as_postgres_passes_as_before(capsys, pg_db):
    result, failed = check(capsys, {k: v for k, v in pg_db["module_args"].items() if k != "db"},
                           pg_db["dbname"], "postgres")
    assert not failed, result
    assert result["role"] == "postgres" and result["superuser"] is True


def test_no_createdb_is_named_with_the_grant(capsys, tcp):
    owner = tcp.role("od_app")
    db = tcp.database(owner)
    result, failed = check(capsys, tcp.login(owner), db, owner)
    assert failed
    assert result["checks"]["createdb"] is False and result["checks"]["owner"] is True
    assert [item["check"] for item in result["missing"]] == ["createdb"]
    assert "cannot create the scratch database" in result["msg"] and "no CREATEDB" in result["msg"]
    assert 'ALTER ROLE "%s" CREATEDB;' % owner in result["msg"]
    assert "nothing was stopped or changed" in result["msg"]
    assert "pw-" not in result["msg"]


def test_a_login_that_is_not_the_owner_nor_a_member_of_it_is_refused(capsys, tcp):
    owner = tcp.role("od_app")
    db = tcp.database(owner)
    admin = tcp.role("rb_admin", "CREATEDB")
    tcp.sql("GRANT SELECT ON ALL TABLES IN SCHEMA public TO %s; GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO %s"
            % (admin, admin), db)
    result, failed = check(capsys, tcp.login(admin), db, owner)
    assert failed
    assert result["checks"]["owner"] is False and result["checks"]["createdb"] is True
    assert "cannot rename %s for the swap: it is owned by %s" % (db, owner) in result["msg"]
    # The same grant answers both (rename the app database, create the scratch owned by the owner): said once.
    assert result["msg"].count('GRANT "%s" TO "%s";' % (owner, admin)) == 1
    tcp.sql("GRANT %s TO %s" % (owner, admin))
    result, failed = check(capsys, tcp.login(admin), db, owner)
    assert not failed, result


def test_a_scratch_owner_the_login_is_not_a_member_of_is_refused(capsys, tcp):
    owner = tcp.role("od_app", "CREATEDB")
    db = tcp.database(owner)
    elsewhere = tcp.role("od_other")
    result, failed = check(capsys, tcp.login(owner), db, elsewhere)
    assert failed
    assert "cannot create the scratch database owned by %s" % elsewhere in result["msg"]
    assert 'GRANT "%s" TO "%s";' % (elsewhere, owner) in result["msg"]


def test_a_session_of_another_role_it_cannot_end_is_refused_until_pg_signal_backend(capsys, tcp):
    owner = tcp.role("od_app", "CREATEDB")
    db = tcp.database(owner)
    reader = tcp.role("od_reader")
    tcp.sql("GRANT CONNECT ON DATABASE %s TO %s" % (db, reader))
    tcp.session(reader, db)
    result, failed = check(capsys, tcp.login(owner), db, owner)
    assert failed, result
    assert result["checks"]["signal"] is False
    assert {"role": reader, "superuser": False, "connected": True, "can_signal": False} in result["session_roles"]
    assert "cannot end the sessions of %s connected to %s" % (reader, db) in result["msg"]
    assert 'GRANT pg_signal_backend TO "%s";' % owner in result["msg"]
    # What the swap does with it: the same refusal from the server.
    with pytest.raises(psycopg2.Error, match="member of pg_signal_backend"):
        conn = tcp.session(owner, "postgres")
        with conn.cursor() as cur:
            cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (reader,))
    tcp.sql("GRANT pg_signal_backend TO %s" % owner)
    result, failed = check(capsys, tcp.login(owner), db, owner)
    assert not failed, result


def test_a_role_expected_at_the_swap_is_checked_although_not_connected(capsys, tcp):
    owner = tcp.role("od_app", "CREATEDB")
    db = tcp.database(owner)
    web = tcp.role("od_web")
    result, failed = check(capsys, tcp.login(owner), db, owner, session_roles=[web], fail_on_missing=False)
    assert not failed and result["ok"] is False
    assert {"role": web, "superuser": False, "connected": False, "can_signal": False} in result["session_roles"]


def test_a_superuser_session_a_login_that_is_none_cannot_end_is_a_warning(capsys, tcp):
    owner = tcp.role("od_app", "CREATEDB")
    db = tcp.database(owner)
    tcp.session("postgres", db, superuser=True)
    result, failed = check(capsys, tcp.login(owner), db, owner)
    # No grant helps (and an autovacuum worker looks the same to a role that is no superuser): not refused.
    assert not failed, result
    assert {"role": "postgres", "superuser": True, "connected": True, "can_signal": False} in result["session_roles"]
    warnings = " ".join(warning_messages(result))
    assert "sessions of the superuser postgres are connected to %s" % db in warnings
    assert "FROM pg_stat_activity WHERE datname = '%s'" % db in warnings


def test_no_connect_privilege_on_the_app_database(capsys, tcp):
    owner = tcp.role("od_app", "CREATEDB")
    db = tcp.database(owner)
    admin = tcp.role("rb_admin", "CREATEDB")
    tcp.sql("GRANT %s TO %s; REVOKE CONNECT ON DATABASE %s FROM PUBLIC" % (owner, admin, db))
    # The owner's privileges are inherited, CONNECT included: revoke it from the owner too.
    tcp.sql("REVOKE CONNECT ON DATABASE %s FROM %s" % (db, owner))
    result, failed = check(capsys, tcp.login(admin), db, owner)
    assert failed and result["checks"]["connect"] is False
    assert 'GRANT CONNECT ON DATABASE "%s" TO "%s";' % (db, admin) in result["msg"]


def test_tables_it_cannot_read_are_named(capsys, tcp):
    owner = tcp.role("od_app", "CREATEDB")
    db = tcp.database(owner)
    secret_owner = tcp.role("od_secret")
    tcp.sql("CREATE TABLE secrets (id int); ALTER TABLE secrets OWNER TO %s" % secret_owner, db)
    result, failed = check(capsys, tcp.login(owner), db, owner)
    assert failed and result["checks"]["read"] is False
    assert result["unreadable"] == ["public.secrets"]
    assert "cannot read 1 tables or sequences of %s (public.secrets)" % db in result["msg"]
    assert 'GRANT "%s" TO "%s";' % (secret_owner, owner) in result["msg"]


def test_a_wrong_password_fails_with_the_server_s_answer_and_no_password(capsys, tcp):
    owner = tcp.role("od_app", "CREATEDB")
    db = tcp.database(owner)
    result, failed = check(capsys, tcp.login(owner, login_password="wrong-secret"), db, owner)
    assert failed
    assert "password authentication failed" in result["msg"] and "on 127.0.0.1 port" in result["msg"]
    assert "wrong-secret" not in result["msg"]


def test_ssl_required_by_the_login_is_enforced(capsys, tcp):
    owner = tcp.role("od_app", "CREATEDB")
    db = tcp.database(owner)
    # verify-full against a certificate that is not the server's: refused, not silently unverified.
    result, failed = check(capsys, tcp.login(owner, ca_cert="/etc/ssl/certs/ca-certificates.crt"), db, owner)
    assert failed and "certificate verify failed" in result["msg"]


def test_a_missing_app_database_is_said(capsys, tcp):
    owner = tcp.role("od_app", "CREATEDB")
    result, failed = check(capsys, tcp.login(owner), "no_such_db_" + tcp.suffix, owner)
    assert failed and "the database no_such_db_%s does not exist on 127.0.0.1 port" % tcp.suffix in result["msg"]
