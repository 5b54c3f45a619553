"""Run a small playbook against localhost with the checkout's collections, as an operator would."""
from __future__ import annotations

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def run_playbook(tmp_path, playbook: str, extra_vars: dict, inventory: str = "localhost,") -> subprocess.CompletedProcess:
    """ansible-playbook on localhost (local connection, the controller's Python); returns the process.
    ``inventory``: a host list or the path of an inventory file naming localhost in groups."""
    book = tmp_path / "play.yml"
    book.write_text(playbook)
    # The checkout's collections first; the community ones from the caller's path too (a git worktree's
    # .work/collections may hold only the link to the checkout).
    collections = [os.path.join(ROOT, ".work", "collections")] + [
        path for path in os.environ.get("ANSIBLE_COLLECTIONS_PATH", "").split(os.pathsep) if path]
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.pathsep.join(collections),
               ANSIBLE_HOME=str(tmp_path / "ansible-home"), ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="0",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="0")
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", inventory, "-c", "local",
           "-e", "ansible_python_interpreter=" + sys.executable, "-e", json.dumps(extra_vars), str(book)]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
