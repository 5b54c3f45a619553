"""The id of a rollback as the phase scaffold resolves it: an AWX survey left blank sends
rollback_id '' as an extra variable, which no set_fact can replace (rollback_run_id carries the id
decide names)."""
from __future__ import annotations

import json
import os

from playbook_runner import run_playbook

# The test role test_steps beside this file.
TEST_ROLES = os.path.dirname(os.path.abspath(__file__))

PLAYBOOK = """
- name: A phase run on its own
  hosts: localhost
  gather_facts: false
  roles: [runbooks.rollback.rollback]
  tasks:
    - name: Name the rollback as decide does
      ansible.builtin.set_fact:
        rollback_run_id: "{{ rollback_id | default('', true) | string | trim or 'NAMED1' }}"
      when: name_it | default(false) | bool
    - name: Run an empty phase
      ansible.builtin.include_role:
        name: runbooks.rollback.phase
        tasks_from: run
      vars:
        phase_name: verify
        phase_steps: []
        phase_state_host: localhost
        phase_on_failure: keep_maintenance
"""


def play(tmp_path, **extra):
    extra.setdefault("rollback_state_dir", str(tmp_path / "state"))
    extra.setdefault("rollback_environment", "staging")
    return run_playbook(tmp_path, PLAYBOOK, extra)


def test_a_phase_without_an_id_is_refused_before_it_writes_anything(tmp_path):
    run = play(tmp_path, rollback_id="")
    assert run.returncode != 0
    assert "No rollback id: the phase verify belongs to a rollback that decide named" in run.stdout, run.stdout
    assert "Nothing was changed" in run.stdout
    assert not (tmp_path / "state").exists() or not list((tmp_path / "state").iterdir())


def test_a_blank_extra_variable_id_gives_way_to_the_id_decide_names(tmp_path):
    run = play(tmp_path, rollback_id="", name_it=True)
    assert run.returncode == 0, run.stdout[-3000:]
    record = json.loads((tmp_path / "state" / "NAMED1.json").read_text())
    assert record["rollback_id"] == "NAMED1"
    assert record["phases"]["verify"]["status"] == "completed"


def test_a_given_id_is_the_phase_s_id(tmp_path):
    run = play(tmp_path, rollback_id=" R7 ", name_it=True)
    assert run.returncode == 0, run.stdout[-3000:]
    assert json.loads((tmp_path / "state" / "R7.json").read_text())["rollback_id"] == "R7"


STEPS_PLAYBOOK = """
- name: A phase whose steps have conditions
  hosts: localhost
  gather_facts: false
  roles: [runbooks.rollback.rollback]
  tasks:
    - name: Run the phase
      ansible.builtin.include_role:
        name: runbooks.rollback.phase
        tasks_from: run
      vars:
        phase_name: verify
        phase_state_host: localhost
        phase_steps:
          - name: A step whose condition is false
            role: test_steps
            tasks_from: fail
            when: "{{ run_the_failing_step | bool }}"
            check_mode_says: fail on purpose
          - name: A step without a condition
            role: test_steps
            tasks_from: fail
            hosts: []
"""


def test_a_step_whose_when_is_false_is_skipped_and_one_that_is_true_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("ANSIBLE_ROLES_PATH", TEST_ROLES)
    extra = {"rollback_state_dir": str(tmp_path / "state"), "rollback_environment": "staging", "rollback_id": "W1"}
    run = run_playbook(tmp_path, STEPS_PLAYBOOK, dict(extra, run_the_failing_step=False))
    assert run.returncode == 0, run.stdout[-3000:]
    assert "the step failed on purpose" not in run.stdout
    run = run_playbook(tmp_path, STEPS_PLAYBOOK, dict(extra, run_the_failing_step=True, rollback_id="W2"))
    assert run.returncode != 0 and "the step failed on purpose" in run.stdout, run.stdout[-3000:]


WHILE_DOWN_PLAYBOOK = """
- name: Two phases while the site is down
  hosts: localhost
  gather_facts: false
  roles: [runbooks.rollback.rollback]
  tasks:
    - name: Decide marks the run as going on to the start phase
      ansible.builtin.set_fact:
        phase_run_reaches_start: "{{ reaches_start | bool }}"
    - name: Run the stop phase
      ansible.builtin.include_role:
        name: runbooks.rollback.phase
        tasks_from: run
      vars:
        phase_name: stop
        phase_state_host: localhost
        phase_steps: []
    - name: Run the database phase, which reads the state file on disk
      ansible.builtin.include_role:
        name: runbooks.rollback.phase
        tasks_from: run
      vars:
        phase_name: database
        phase_state_host: localhost
        phase_steps:
          - name: Read what the state file says of the stop phase now
            role: test_steps
            tasks_from: state_says
        test_steps_phase: stop
    - name: Say what the disk said
      ansible.builtin.debug:
        msg: "ON DISK: {{ test_steps_on_disk.database }}"
"""


def test_the_phase_role_carries_the_stop_s_end_while_down_when_the_run_reaches_start(tmp_path, monkeypatch):
    monkeypatch.setenv("ANSIBLE_ROLES_PATH", TEST_ROLES)
    extra = {"rollback_state_dir": str(tmp_path / "state"), "rollback_environment": "staging"}
    # A whole run (rollback.yml, rollback_db_only.yml, rollback_code_only.yml): the stop's end waits for
    # the next write; the database phase's start is carried with it, so nothing is on disk yet.
    run = run_playbook(tmp_path, WHILE_DOWN_PLAYBOOK, dict(extra, reaches_start=True, rollback_id="D1"))
    assert run.returncode == 0, run.stdout[-3000:]
    assert "ON DISK: started" in run.stdout, run.stdout[-3000:]
    # A phase playbook run on its own writes each record when it happens.
    run = run_playbook(tmp_path, WHILE_DOWN_PLAYBOOK, dict(extra, reaches_start=False, rollback_id="D2"))
    assert run.returncode == 0, run.stdout[-3000:]
    assert "ON DISK: completed" in run.stdout, run.stdout[-3000:]
