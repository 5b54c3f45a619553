"""Run ``ansible-test`` (sanity by default) on a copy of the checkout.

ansible-test only works from a path ``.../ansible_collections/<ns>/<name>``; a fresh
clone can live anywhere, so the tracked files are copied (not linked: ansible-test
resolves the working directory) to ``.work/ansible-test/ansible_collections/runbooks/rollback``.

ansible-test bootstraps pip in each virtualenv it creates from a host that is not
reachable here; its cache is pre-seeded with a stand-in ``get_pip_24_2.py`` that
installs pip from the pip wheel on PyPI instead.  HOME points at ``.work/at-home`` so
nothing outside the work directory is touched.

Usage: tools/ansible_test.py [sanity|units] [extra ansible-test args...]
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = Path(os.environ.get("RB_WORK", ROOT / ".work"))
COPY = WORK / "ansible-test" / "ansible_collections" / "runbooks" / "rollback"
AT_HOME = WORK / "at-home"
GET_PIP = '''\
import os, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "pip-24.2-py3-none-any.whl"))
from pip._internal.cli.main import main
args = sys.argv[1:]
extra = [p for p, f in (("setuptools", "--no-setuptools"), ("wheel", "--no-wheel"))
         if f not in args and sys.version_info < (3, 12)]
sys.exit(main(["install", "--upgrade", "--force-reinstall"]
              + [a for a in args if a not in ("--no-setuptools", "--no-wheel")] + extra))
'''


def tracked_files() -> list[str]:
    """Files git tracks plus untracked, not-ignored ones (what a commit would hold)."""
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                         cwd=ROOT, check=True, stdout=subprocess.PIPE).stdout
    return [f for f in out.decode().split("\0") if f and (ROOT / f).exists()]


def sync_copy() -> None:
    if COPY.exists():
        shutil.rmtree(COPY)
    for rel in tracked_files():
        src, dst = ROOT / rel, COPY / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink():
            os.symlink(os.readlink(src), dst)
        else:
            shutil.copy2(src, dst)
    # ansible-test wants a git tree to list files; give the copy its own.
    subprocess.run(["git", "init", "-q"], cwd=COPY, check=True)
    subprocess.run(["git", "add", "-A"], cwd=COPY, check=True)


def seed_pip_bootstrap() -> None:
    cache = AT_HOME / ".ansible" / "test" / "cache"
    if (cache / "get_pip_24_2.py").exists():
        return
    cache.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check",
                    "--no-deps", "-d", str(cache), "pip==24.2"], check=True)
    (cache / "get_pip_24_2.py").write_text(GET_PIP)


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "sanity"
    sync_copy()
    seed_pip_bootstrap()
    env = dict(os.environ, HOME=str(AT_HOME), ANSIBLE_HOME=str(AT_HOME / ".ansible"))
    ansible_test = Path(sys.executable).parent / "ansible-test"
    cmd = [str(ansible_test), command, "--venv", "--python", "3.11", *argv[1:]]
    print("+ (in %s) %s" % (COPY, " ".join(cmd)), flush=True)
    return subprocess.run(cmd, cwd=COPY, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
