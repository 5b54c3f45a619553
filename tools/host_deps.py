"""Install the host packages `make` needs when they are missing (idempotent, root only).

- python3-venv: ``python3 -m venv`` needs ensurepip (Debian splits it out).
- postgresql-15: the unit tests start a throw-away cluster with its server binaries.
- git: tools/ansible_test.py lists the files of the checkout with it.
- redis-server: the celery_queues unit tests start a throw-away Redis (tests/redis_server.py);
  openssl makes the certificate of its TLS port.
- chromium: the HTML incident report's browser test (tests/unit/test_browser.py) opens it in headless
  Chromium (tests/browser.py) and takes a screenshot; chromium-headless-shell does too, when present.
The docker engine and debootstrap are installed by tools/dockerhost.py when needed.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

from dockerhost import apt_install  # pylint: disable=import-error

PG_BIN = os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin")


def missing_packages(python: str) -> list[str]:
    need = []
    if subprocess.run([python, "-c", "import ensurepip, venv"], stdout=subprocess.DEVNULL,
                      stderr=subprocess.DEVNULL, check=False).returncode != 0:
        need.append("python3-venv")
    if not os.path.exists(os.path.join(PG_BIN, "initdb")):
        need += ["postgresql-15", "postgresql-client-15"]
    if not shutil.which("git"):
        need.append("git")
    if not shutil.which("redis-server"):
        need.append("redis-server")
    if not shutil.which("openssl"):
        need.append("openssl")
    if not (shutil.which("chromium") or shutil.which("chromium-headless-shell")):
        need.append("chromium")
    return need


def main() -> int:
    python = sys.argv[1] if len(sys.argv) > 1 else "python3"
    need = missing_packages(python)
    if need:
        apt_install(*need)
    else:
        print("[host-deps] python venv, PostgreSQL 15 server binaries, git, redis-server, openssl and chromium present")
    return 0


if __name__ == "__main__":
    sys.exit(main())
