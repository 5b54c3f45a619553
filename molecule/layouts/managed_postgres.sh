#!/bin/bash
# A managed PostgreSQL (RDS, Cloud SQL, Azure) stand-in for the layouts scenario: a server in a
# container of its own that the playbook does not have in its inventory. It accepts only TLS
# logins with a password over the network (hostssl, scram-sha-256): no shell user, no files.
# As a cloud console would, it creates the application's role - a login with CREATEDB that owns
# the database, the only one the rollback is given - and the database.
# Environment: OD_DB_NAME, OD_DB_USER, OD_DB_PASSWORD.
set -euo pipefail
conf=/etc/postgresql/15/main
data=/var/lib/postgresql/15/main
if [ ! -f "$data/server.crt" ]; then
  openssl req -new -x509 -days 30 -nodes -subj "/CN=$(hostname)" \
    -keyout "$data/server.key" -out "$data/server.crt" 2>/dev/null
  chown postgres:postgres "$data/server.key" "$data/server.crt"
  chmod 0600 "$data/server.key"
fi
cat > "$conf/conf.d/managed.conf" <<CONF
listen_addresses = '*'
ssl = on
ssl_cert_file = '$data/server.crt'
ssl_key_file = '$data/server.key'
password_encryption = scram-sha-256
CONF
cat > "$conf/pg_hba.conf" <<HBA
local     all all                peer
hostssl   all all 0.0.0.0/0      scram-sha-256
hostnossl all all 0.0.0.0/0      reject
HBA
pg_ctlcluster 15 main start
runuser -u postgres -- psql -q -v ON_ERROR_STOP=1 -v db="$OD_DB_NAME" -v user="$OD_DB_USER" \
  -v pw="$OD_DB_PASSWORD" -d postgres <<'SQL'
SELECT format('CREATE ROLE %I LOGIN CREATEDB', :'user')
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'user') \gexec
ALTER ROLE :"user" PASSWORD :'pw';
SELECT format('CREATE DATABASE %I OWNER %I ENCODING ''UTF8'' TEMPLATE template0', :'db', :'user')
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') \gexec
SQL
echo "managed postgres ready"
exec tail -n +1 -F /var/log/postgresql/postgresql-15-main.log
