"""`ansible-doc` renders every module of the collection: it is the operator's manual."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODULES = sorted(f[:-3] for f in os.listdir(os.path.join(ROOT, "plugins", "modules"))
                 if f.endswith(".py") and not f.startswith("_"))


def test_the_collection_ships_the_modules_of_the_design():
    assert set(MODULES) >= {"rollback_decision", "data_loss_report", "recent_data_export",
                            "recent_data_import", "pg_backup_info"}


@pytest.mark.parametrize("module", MODULES)
def test_ansible_doc_renders(module):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".work", "collections"))
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-doc"), "--json",
                           "runbooks.rollback." + module], env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)["runbooks.rollback." + module]
    assert doc["doc"]["short_description"]
    assert doc["examples"].strip()
    assert doc["return"], "RETURN is empty"
    for name, option in doc["doc"]["options"].items():
        assert option.get("description"), "option %s has no description" % name
        assert "type" in option, "option %s has no type" % name
