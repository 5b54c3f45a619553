"""A managed PostgreSQL (RDS, Cloud SQL, Azure) stand-in for the layouts scenario.

The command of a container of its own (prepare.yml runs it with ``python3``) that the playbook
does not have in its inventory. The server accepts only TLS logins with a password over the
network (hostssl, scram-sha-256): no shell user, no files. As a cloud console would, it creates
the application's role - a login with CREATEDB that owns the database, the only login the
rollback is given - and the database. Environment: OD_DB_NAME, OD_DB_USER, OD_DB_PASSWORD.
"""
import os
import socket
import subprocess

CONF = "/etc/postgresql/15/main"
DATA = "/var/lib/postgresql/15/main"
SQL = r"""
SELECT format('CREATE ROLE %I LOGIN CREATEDB', :'user')
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'user') \gexec
ALTER ROLE :"user" PASSWORD :'pw';
SELECT format('CREATE DATABASE %I OWNER %I ENCODING ''UTF8'' TEMPLATE template0', :'db', :'user')
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') \gexec
"""


def main():
    cert, key = DATA + "/server.crt", DATA + "/server.key"
    if not os.path.exists(cert):
        subprocess.run(["openssl", "req", "-new", "-x509", "-days", "30", "-nodes",
                        "-subj", "/CN=" + socket.gethostname(), "-keyout", key, "-out", cert],
                       check=True, capture_output=True)
        subprocess.run(["chown", "postgres:postgres", key, cert], check=True)
        os.chmod(key, 0o600)
    with open(CONF + "/conf.d/managed.conf", "w", encoding="utf-8") as handle:
        handle.write("listen_addresses = '*'\nssl = on\nssl_cert_file = '%s'\nssl_key_file = '%s'\n"
                     "password_encryption = scram-sha-256\n" % (cert, key))
    with open(CONF + "/pg_hba.conf", "w", encoding="utf-8") as handle:
        handle.write("local     all all            peer\n"
                     "hostssl   all all 0.0.0.0/0  scram-sha-256\n"
                     "hostnossl all all 0.0.0.0/0  reject\n")
    subprocess.run(["pg_ctlcluster", "15", "main", "start"], check=True)
    subprocess.run(["runuser", "-u", "postgres", "--", "psql", "-q", "-v", "ON_ERROR_STOP=1",
                    "-v", "db=" + os.environ["OD_DB_NAME"], "-v", "user=" + os.environ["OD_DB_USER"],
                    "-v", "pw=" + os.environ["OD_DB_PASSWORD"], "-d", "postgres"],
                   input=SQL, text=True, check=True)
    print("managed postgres ready", flush=True)
    os.execvp("tail", ["tail", "-n", "+1", "-F", "/var/log/postgresql/postgresql-15-main.log"])


if __name__ == "__main__":
    main()
