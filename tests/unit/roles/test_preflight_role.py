"""The preflight role's confirmation for production, through real ansible-playbook runs."""
from __future__ import annotations

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
PLAYBOOK = """
- name: Preflight
  hosts: localhost
  gather_facts: false
  roles:
    - role: runbooks.rollback.preflight
      preflight_check_backup: false
      preflight_check_code: false
"""


def play(tmp_path, with_deployed_at=True, **extra_vars) -> subprocess.CompletedProcess:
    book = tmp_path / "preflight.yml"
    book.write_text(PLAYBOOK)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".work", "collections"),
               ANSIBLE_HOME=str(tmp_path / "ansible-home"), ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="0")
    if with_deployed_at:
        extra_vars.setdefault("preflight_deployed_at", "2026-11-24T10:00:00Z")
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,", "-c", "local",
           "-e", "ansible_python_interpreter=" + sys.executable, "-e", json.dumps(extra_vars), str(book)]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)


def test_production_without_confirmation_is_refused(tmp_path):
    run = play(tmp_path, rollback_environment="prod")
    assert run.returncode != 0
    assert "Confirm by running again with -e rollback_confirm=prod" in run.stdout


def test_production_with_the_wrong_confirmation_is_refused_and_says_what_was_given(tmp_path):
    run = play(tmp_path, rollback_environment="prod", rollback_confirm="staging")
    assert run.returncode != 0
    assert '(you gave "staging")' in run.stdout


def test_production_with_the_confirmation_passes(tmp_path):
    run = play(tmp_path, rollback_environment="prod", rollback_confirm="prod")
    assert run.returncode == 0, run.stdout + run.stderr


def test_staging_needs_no_confirmation(tmp_path):
    run = play(tmp_path, rollback_environment="staging")
    assert run.returncode == 0, run.stdout + run.stderr


def test_an_inventory_without_environment_is_refused(tmp_path):
    run = play(tmp_path)
    assert run.returncode != 0
    assert "does not say which environment it is" in run.stdout


def test_missing_deployment_time_fails_before_anything_runs(tmp_path):
    run = play(tmp_path, with_deployed_at=False, rollback_environment="staging")
    assert run.returncode != 0
    assert "missing required arguments: preflight_deployed_at" in run.stdout + run.stderr


def test_bad_free_space_factor_fails_before_anything_runs(tmp_path):
    run = play(tmp_path, rollback_environment="staging", preflight_free_space_factor="lots")
    assert run.returncode != 0
    assert "preflight_free_space_factor" in run.stdout + run.stderr
