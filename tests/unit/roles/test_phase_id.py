"""The id of a rollback as the phase scaffold resolves it: an AWX survey left blank sends
rollback_id '' as an extra variable, which no set_fact can replace (rollback_run_id carries the id
decide names)."""
from __future__ import annotations

import json

from playbook_runner import run_playbook

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
