# -*- coding: utf-8 -*-
# Copyright: (c) 2026, runbooks.rollback developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):
    # Connection options shared by the modules that talk to PostgreSQL (as community.postgresql).
    DOCUMENTATION = r'''
options:
  login_user:
    description: The role to connect as.
    type: str
    default: postgres
    aliases: [login]
  login_password:
    description: The password of O(login_user). Never logged.
    type: str
    default: ''
  login_host:
    description:
      - Host of the database server. Empty means the unix socket (see O(login_unix_socket)).
    type: str
    default: ''
  login_unix_socket:
    description: Directory of the server's unix socket; used when O(login_host) is empty.
    type: str
    default: ''
  port:
    description: Port of the database server.
    type: int
    default: 5432
    aliases: [login_port]
  db:
    description: Database to connect to.
    type: str
    required: true
    aliases: [login_db]
  ssl_mode:
    description: libpq SSL mode.
    type: str
    default: prefer
    choices: [allow, disable, prefer, require, verify-ca, verify-full]
  ca_cert:
    description: CA certificate file used to verify the server (O(ssl_mode=verify-ca) or V(verify-full)).
    type: str
    aliases: [ssl_rootcert]
  ssl_cert:
    description: Client certificate file, for a server that authenticates clients by certificate.
    type: path
  ssl_key:
    description: Private key of O(ssl_cert).
    type: path
  connect_timeout:
    description: Seconds to wait for the connection.
    type: int
    default: 10
requirements:
  - psycopg2
'''
