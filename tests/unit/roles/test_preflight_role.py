"""The preflight role's confirmation for production, through real ansible-playbook runs."""
from __future__ import annotations

from playbook_runner import run_playbook

PLAYBOOK = """
- name: Preflight
  hosts: localhost
  gather_facts: false
  roles:
    - role: runbooks.rollback.preflight
      preflight_check_backup: false
      preflight_check_code: false
"""


def play(tmp_path, with_deployed_at=True, **extra_vars):
    if with_deployed_at:
        extra_vars.setdefault("preflight_deployed_at", "2026-11-24T10:00:00Z")
    return run_playbook(tmp_path, PLAYBOOK, extra_vars)


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
