#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, runbooks.rollback developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: pg_rollback_privileges
short_description: Check that a PostgreSQL login may do every step of a database rollback
version_added: 0.2.0
description:
  - Connects as the rollback's login (a managed PostgreSQL gives no superuser and no shell) and checks,
    before anything is stopped, each privilege the database steps need.
  - C(connect) - it can connect to the maintenance database O(db) (the swap and the scratch database's
    creation run there) and to O(app_db) (count, export, dump, verify, re-import).
  - C(read) - it can read every table and sequence of O(app_db) (pg_dump and the export read them all).
  - C(createdb) - it has CREATEDB (the scratch database is created; a rename needs it too).
  - C(owner) - it has the privileges of the owner of O(app_db) (the swap renames it) and of O(app_owner)
    (the scratch database is created owned by that role, dropped when a restore fails, renamed in).
  - C(signal) - it can end the other sessions connected to O(app_db) and those of O(session_roles)
    (the swap terminates them) - the same role, a member of it, or a member of C(pg_signal_backend).
    The sessions of a superuser only a superuser can end and no grant changes it - a warning says so.
  - A superuser passes every check. Each missing privilege is named with the SQL that grants it.
  - Read-only; the same in check mode.
author:
  - runbooks.rollback developers (@runbooks)
options:
  db:
    description: The maintenance database the swap connects to.
    type: str
    required: false
    default: postgres
    aliases: [login_db]
  app_db:
    description: The application database the rollback restores.
    type: str
    required: true
  app_owner:
    description: The role the scratch database is created owned by (C(rollback_db_owner)).
    type: str
    required: true
  session_roles:
    description:
      - Roles whose sessions will be connected to O(app_db) at the swap although none is now, for example the
        application's own; checked as the sessions found.
    type: list
    elements: str
    default: []
  fail_on_missing:
    description: Fail, naming each missing privilege and the SQL that grants it. False only reports them.
    type: bool
    default: true
extends_documentation_fragment:
  - runbooks.rollback.postgres
  - runbooks.rollback.attributes
attributes:
  check_mode:
    description: Reads the catalogs only; the same in check mode.
    support: full
notes:
  - The sessions are those connected when the check runs; one that connects later as a role the login
    cannot signal (a superuser's psql) still fails the swap, which then leaves the live database untouched.
'''

EXAMPLES = r'''
- name: Check the login of a managed PostgreSQL before anything stops
  runbooks.rollback.pg_rollback_privileges:
    login_host: db.example.internal
    login_user: od_app
    login_password: "{{ vault_rollback_db_password }}"
    ssl_mode: require
    app_db: open_discussions
    app_owner: od_app
    session_roles: [od_app]
  register: privileges

- name: Only report what is missing
  runbooks.rollback.pg_rollback_privileges:
    app_db: open_discussions
    app_owner: od_app
    fail_on_missing: false
  become: true
  become_user: postgres
  register: privileges
'''

RETURN = r'''
ok:
  description: Every check passed.
  returned: always
  type: bool
  sample: true
role:
  description: The role the login is (C(current_user)).
  returned: when connected
  type: str
  sample: od_app
superuser:
  description: The role is a superuser (passes every check).
  returned: when connected
  type: bool
  sample: false
server_version:
  description: The server's version.
  returned: when connected
  type: str
  sample: "15.10"
app_db_owner:
  description: The owner of O(app_db); null when it does not exist.
  returned: when connected
  type: str
  sample: od_app
checks:
  description: Each check (connect, read, createdb, owner, signal) and whether it passed.
  returned: always
  type: dict
  sample: {"connect": true, "read": true, "createdb": true, "owner": true, "signal": false}
session_roles:
  description: The roles of the other sessions connected to O(app_db), and those of O(session_roles).
  returned: when connected
  type: list
  elements: dict
  sample: [{"role": "od_app", "superuser": false, "can_signal": true, "connected": true}]
missing:
  description: One entry per missing privilege - the check, what fails without it, and the SQL that grants it.
  returned: always
  type: list
  elements: dict
  sample: [{"check": "createdb", "message": "od_app cannot create the scratch database (no CREATEDB)",
            "grant": "ALTER ROLE \"od_app\" CREATEDB;"}]
'''

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.runbooks.rollback.plugins.module_utils.postgres import (
    HAS_PSYCOPG2, PSYCOPG2_IMPORT_ERROR, PostgresError, connect, postgres_common_argument_spec, where)

CHECKS = ("connect", "read", "createdb", "owner", "signal")
# The first few of a list in a message; the result has them all.
SHOWN = 5


def argument_spec():
    spec = postgres_common_argument_spec()
    spec["db"] = dict(type="str", default="postgres", aliases=["login_db"])
    spec.update(
        app_db=dict(type="str", required=True),
        app_owner=dict(type="str", required=True),
        session_roles=dict(type="list", elements="str", default=[]),
        fail_on_missing=dict(type="bool", default=True),
    )
    return spec


def ident(name):
    """A role or database name quoted for the SQL shown to the operator."""
    return '"%s"' % name.replace('"', '""')


def listed(names):
    names = list(names)
    return ", ".join(names[:SHOWN]) + (" and %d more" % (len(names) - SHOWN) if len(names) > SHOWN else "")


class Checker(object):

    def __init__(self, params):
        self.params = params
        self.checks = dict((name, True) for name in CHECKS)
        self.missing = []
        self.warnings = []
        self.result = {}

    def lack(self, check, message, grant):
        self.checks[check] = False
        self.missing.append({"check": check, "message": message, "grant": grant})

    def run(self):
        params = self.params
        try:
            conn = connect(params, readonly=True)
        except PostgresError as exc:
            text = str(exc)
            self.lack("connect", text, "GRANT CONNECT ON DATABASE %s TO %s;" % (ident(params["db"]), ident(params["login_user"]))
                      if "CONNECT privilege" in text else None)
            return
        try:
            with conn.cursor() as cur:
                self.catalog(cur)
        finally:
            conn.rollback()
            conn.close()
        if self.result.get("app_db_owner") is not None and self.checks["connect"]:
            self.app_db()

    def catalog(self, cur):
        params = self.params
        cur.execute("SELECT current_user, r.rolsuper, r.rolcreatedb, current_setting('server_version'), "
                    "current_setting('server_version_num')::int FROM pg_roles r WHERE r.rolname = current_user")
        login, superuser, createdb, version, version_num = cur.fetchone()
        self.login = login
        self.result.update(role=login, superuser=superuser, server_version=version)

        cur.execute("SELECT pg_get_userbyid(d.datdba), has_database_privilege(d.oid, 'CONNECT'), d.datallowconn, "
                    "pg_has_role(current_user, d.datdba, 'USAGE') FROM pg_database d WHERE d.datname = %s",
                    (params["app_db"],))
        row = cur.fetchone()
        if row is None:
            self.result["app_db_owner"] = None
            self.lack("connect", "the database %s does not exist on %s" % (params["app_db"], self.server()),
                      None)
        else:
            owner, can_connect, allowed, owns = row
            self.result["app_db_owner"] = owner
            if not allowed:
                self.lack("connect", "the database %s does not accept connections (datallowconn is false)"
                          % params["app_db"], "ALTER DATABASE %s ALLOW_CONNECTIONS true;" % ident(params["app_db"]))
            elif not can_connect:
                self.lack("connect", "%s cannot connect to %s (no CONNECT privilege): nothing can be counted, "
                          "exported or dumped" % (login, params["app_db"]),
                          "GRANT CONNECT ON DATABASE %s TO %s;" % (ident(params["app_db"]), ident(login)))
            if not owns:
                self.lack("owner", "%s cannot rename %s for the swap: it is owned by %s, and %s neither is "
                          "nor inherits that role" % (login, params["app_db"], owner, login),
                          "GRANT %s TO %s;" % (ident(owner), ident(login)))

        if not (superuser or createdb):
            self.lack("createdb", "%s cannot create the scratch database the backup is restored into "
                      "(no CREATEDB; renaming a database needs it too)" % login,
                      "ALTER ROLE %s CREATEDB;" % ident(login))

        self.app_owner(cur, login, version_num)
        self.sessions(cur, login)

    def app_owner(self, cur, login, version_num):
        owner = self.params["app_owner"]
        # PostgreSQL 16 split membership: CREATE DATABASE ... OWNER needs the SET option of the grant.
        options = ["USAGE"] + (["SET"] if version_num >= 160000 else [])
        cur.execute("SELECT " + ", ".join("pg_has_role(current_user, r.oid, '%s')" % option for option in options)
                    + " FROM pg_roles r WHERE r.rolname = %s", (owner,))
        row = cur.fetchone()
        if row is None:
            self.lack("owner", "the role %s that the scratch database is to be owned by (rollback_db_owner) does "
                      "not exist on %s" % (owner, self.server()), None)
        elif not all(row) and not self.granted("GRANT %s TO %s;" % (ident(owner), ident(login))):
            self.lack("owner", "%s cannot create the scratch database owned by %s, nor drop it if the restore "
                      "fails: it neither is nor inherits that role" % (login, owner),
                      "GRANT %s TO %s;" % (ident(owner), ident(login)))

    def granted(self, grant):
        return any(item["grant"] == grant for item in self.missing)

    def sessions(self, cur, login):
        params = self.params
        # Autovacuum workers are not counted: the rename stops them itself. A role that is no superuser
        # sees no backend_type of others' sessions: a worker then shows as a session of the bootstrap superuser.
        cur.execute(
            """
            WITH roles AS (
                SELECT a.usesysid AS oid, true AS connected FROM pg_stat_activity a
                 WHERE a.datname = %s AND a.pid <> pg_backend_pid()
                   AND a.backend_type IS DISTINCT FROM 'autovacuum worker'
                UNION ALL
                SELECT r.oid, false FROM pg_roles r WHERE r.rolname = ANY(%s)
            )
            SELECT coalesce(r.rolname, '(no role)'), coalesce(r.rolsuper, true), bool_or(s.connected),
                   CASE WHEN (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN true
                        WHEN r.oid IS NULL OR r.rolsuper THEN false
                        ELSE pg_has_role(current_user, r.oid, 'USAGE')
                             OR pg_has_role(current_user, 'pg_signal_backend', 'USAGE') END
              FROM roles s LEFT JOIN pg_roles r ON r.oid = s.oid
             GROUP BY r.oid, r.rolname, r.rolsuper
             ORDER BY 1
            """, (params["app_db"], list(params["session_roles"])))
        roles = [{"role": name, "superuser": su, "connected": connected, "can_signal": can}
                 for name, su, connected, can in cur.fetchall()]
        self.result["session_roles"] = roles
        supers = [r["role"] for r in roles if not r["can_signal"] and r["superuser"]]
        others = [r["role"] for r in roles if not r["can_signal"] and not r["superuser"]]
        if others:
            self.lack("signal", "%s cannot end the sessions of %s connected to %s, which the swap must end"
                      % (login, listed(others), params["app_db"]),
                      "GRANT pg_signal_backend TO %s;" % ident(login))
        # No grant makes them signalable (and an autovacuum worker looks the same): said, not refused.
        if supers:
            self.warnings.append(
                "sessions of the superuser %s are connected to %s; %s cannot end them (an autovacuum worker looks "
                "the same and ends by itself). Still connected at the swap, they make it fail and the live database "
                "stays as it is: close them before the database phase (SELECT pid, usename, application_name, "
                "client_addr FROM pg_stat_activity WHERE datname = '%s')"
                % (listed(supers), params["app_db"], login, params["app_db"].replace("'", "''")))

    def app_db(self):
        params = self.params
        try:
            conn = connect(dict(params, db=params["app_db"]), readonly=True)
        except PostgresError as exc:
            self.lack("connect", str(exc), None)
            return
        try:
            with conn.cursor() as cur:
                # What pg_dump and the export read: every table, sequence and materialized view outside
                # the system schemas, and the schemas they are in.
                cur.execute("""
                    SELECT format('%I.%I', n.nspname, c.relname), pg_get_userbyid(c.relowner)
                      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                     WHERE c.relkind IN ('r', 'p', 'S', 'm')
                       AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
                       AND (NOT has_schema_privilege(n.oid, 'USAGE') OR NOT has_table_privilege(c.oid, 'SELECT'))
                     ORDER BY 1""")
                unreadable = cur.fetchall()
        finally:
            conn.rollback()
            conn.close()
        if unreadable:
            owners = sorted(set(owner for _name, owner in unreadable))
            self.result["unreadable"] = [name for name, _owner in unreadable]
            self.lack("read", "%s cannot read %d tables or sequences of %s (%s): pg_dump and the export of the "
                      "rows written since the deployment would fail" % (
                          self.login, len(unreadable), params["app_db"], listed(name for name, _owner in unreadable)),
                      " ".join("GRANT %s TO %s;" % (ident(owner), ident(self.login)) for owner in owners))

    def server(self):
        return server(self.params)

    def report(self):
        result = dict(self.result, ok=not self.missing, checks=self.checks, missing=self.missing)
        return result


def server(params):
    """host port N, as where() names it."""
    return where(params).split(" on ", 1)[1].rsplit(" as ", 1)[0]


def failure_message(params, result):
    who = result.get("role") or params["login_user"]
    lines = ["%d. %s" % (number, item["message"]) for number, item in enumerate(result["missing"], 1)]
    grants = []
    for item in result["missing"]:
        if item["grant"] and item["grant"] not in grants:
            grants.append(item["grant"])
    text = ("The database login %s %s cannot do every step of the rollback; nothing was stopped or changed. %s."
            % (who, "on " + server(params), " ".join(lines)))
    if grants:
        text += (" As an administrator of the server (the RDS or Cloud SQL master user), run: %s Then run the same "
                 "command again." % " ".join(grants))
    else:
        text += " Fix that, then run the same command again."
    return text


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    if not HAS_PSYCOPG2:
        module.fail_json(msg=missing_required_lib("psycopg2"), exception=PSYCOPG2_IMPORT_ERROR)
    checker = Checker(module.params)
    try:
        checker.run()
    except PostgresError as exc:
        module.fail_json(msg=str(exc))
    result = checker.report()
    for warning in checker.warnings:
        module.warn(warning)
    if result["missing"] and module.params["fail_on_missing"]:
        module.fail_json(msg=failure_message(module.params, result), **result)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
