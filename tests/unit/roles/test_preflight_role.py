"""The preflight role's confirmation for production and its code checks, through real ansible-playbook runs."""
from __future__ import annotations

import os
import subprocess

import pytest

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


# --- the code phase's checks, before anything stops ------------------------------------------------

CODE_PLAYBOOK = """
- name: Preflight of the code
  hosts: localhost
  gather_facts: false
  roles:
    - role: runbooks.rollback.preflight
      preflight_check_backup: false
      preflight_check_code: true
  tasks:
    - name: Show what the checklist publishes
      ansible.builtin.debug:
        msg: "DEPLOYED {{ preflight_result.deployed_commit }}"
"""


def git(repo, *args):
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@localhost", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@localhost")
    return subprocess.run(["git", "-C", str(repo), *args], env=env, check=True, capture_output=True,
                          text=True).stdout.strip()


def checkout(tmp_path):
    """A checkout like the application's: v1.4.0, then the bad release merged with --no-ff."""
    repo = tmp_path / "app"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "manage.py").write_text("print('1.4.0')\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "1.4.0")
    git(repo, "tag", "v1.4.0")
    git(repo, "checkout", "-q", "-b", "feature")
    (repo / "manage.py").write_text("print('1.5.0')\n")
    git(repo, "commit", "-q", "-am", "1.5.0")
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--no-ff", "-m", "merge feature", "feature")
    git(repo, "tag", "v1.5.0")
    return repo


def code_play(tmp_path, repo, **extra_vars):
    extra_vars.update(preflight_deployed_at="2026-11-24T10:00:00Z", rollback_environment="staging",
                      preflight_repo_dir=str(repo))
    return run_playbook(tmp_path, CODE_PLAYBOOK, extra_vars)


def test_a_clean_checkout_and_an_existing_commit_pass(tmp_path):
    repo = checkout(tmp_path)
    run = code_play(tmp_path, repo, preflight_code_target="v1.4.0")
    assert run.returncode == 0, run.stdout + run.stderr
    # The deployed commit, which code_rollback's preflight publishes (code_rollback_result.before).
    assert "DEPLOYED %s" % git(repo, "rev-parse", "HEAD") in run.stdout
    run = code_play(tmp_path, repo, preflight_code_method="revert", preflight_merge_commit="v1.5.0")
    assert run.returncode == 0, run.stdout + run.stderr


def test_a_missing_commit_is_refused(tmp_path):
    repo = checkout(tmp_path)
    run = code_play(tmp_path, repo, preflight_code_target="v9.9.9")
    assert run.returncode != 0
    assert "v9.9.9 is not a commit of %s" % repo in run.stdout


def test_a_revert_of_a_commit_that_is_not_a_merge_is_refused(tmp_path):
    repo = checkout(tmp_path)
    run = code_play(tmp_path, repo, preflight_code_method="revert", preflight_merge_commit="v1.4.0")
    assert run.returncode != 0
    assert "is not a merge commit" in run.stdout and "code_rollback_method=reset" in run.stdout


def test_uncommitted_changes_are_refused_unless_discarding_them_is_allowed(tmp_path):
    repo = checkout(tmp_path)
    (repo / "manage.py").write_text("print('hot fix')\n")
    run = code_play(tmp_path, repo, preflight_code_target="v1.4.0")
    assert run.returncode != 0
    assert "has uncommitted changes that the rollback would lose: M manage.py" in run.stdout
    assert (repo / "manage.py").read_text() == "print('hot fix')\n"
    run = code_play(tmp_path, repo, preflight_code_target="v1.4.0", code_rollback_discard_local_changes=True)
    assert run.returncode == 0, run.stdout + run.stderr


# --- the database's names, whatever the restore mode ----------------------------------------------

BACKUP_PLAYBOOK = """
- name: Preflight of the database
  hosts: localhost
  gather_facts: false
  roles:
    - role: runbooks.rollback.preflight
      preflight_check_backup: true
      preflight_check_code: false
      preflight_become_user: ""
"""


@pytest.mark.parametrize("db_name, rollback_id, reason", [
    ("open-discussions", "R1", "must be a plain identifier"),
    ("open_discussions", "x" * 40, "longer than PostgreSQL's 63 characters"),
])
def test_a_database_name_or_id_the_restore_cannot_use_is_refused_in_decide(tmp_path, db_name, rollback_id, reason):
    # Without the restore ahead too: before, the name was first made in the database phase, site down.
    run = run_playbook(tmp_path, BACKUP_PLAYBOOK, {
        "preflight_deployed_at": "2026-11-24T10:00:00Z", "rollback_environment": "staging",
        "rollback_db_name": db_name, "rollback_id": rollback_id, "rollback_restore_ahead": False,
        "rollback_backup_dir": str(tmp_path / "no-backups")})
    assert run.returncode != 0
    assert reason in run.stdout and "Nothing was stopped." in run.stdout, run.stdout[-3000:]
    assert "Find and verify the pre-deployment backup]" not in run.stdout
