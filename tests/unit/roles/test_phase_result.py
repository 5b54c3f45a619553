"""phase_result, the phase role's declared result: the phases this run ended. The report phase reads it to
tell a run that did phases (audit line, end notice) from one whose phases an earlier run completed."""
from __future__ import annotations

import json
import re

from playbook_runner import run_playbook

PLAYBOOK = """
- name: Two phases of a rollback
  hosts: localhost
  gather_facts: false
  roles: [runbooks.rollback.rollback]
  tasks:
    - name: Run an empty phase
      ansible.builtin.include_role:
        name: runbooks.rollback.phase
        tasks_from: run
      loop: [search, monitor]
      loop_control:
        loop_var: phase_name
      vars:
        phase_steps: []
        phase_state_host: localhost
        phase_on_failure: keep_maintenance

- name: What the report phase reads
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Say phase_result
      ansible.builtin.debug:
        msg: "PHASE_RESULT={{ phase_result | default('undefined') | to_json }}"
"""


def play(tmp_path):
    extra = {"rollback_state_dir": str(tmp_path / "state"), "rollback_environment": "staging", "rollback_id": "R1"}
    run = run_playbook(tmp_path, PLAYBOOK, extra)
    assert run.returncode == 0, run.stdout[-3000:]
    return json.loads(re.search(r"PHASE_RESULT=(.*?)\"?$", run.stdout, re.MULTILINE).group(1).replace('\\"', '"'))


def test_the_phases_a_run_ended_are_its_result_and_a_run_that_only_skips_has_none(tmp_path):
    assert play(tmp_path) == {"ended": ["search", "monitor"]}
    record = json.loads((tmp_path / "state" / "R1.json").read_text())
    assert [record["phases"][name]["status"] for name in ("search", "monitor")] == ["completed", "completed"]
    # Both completed by the run before: each ends its play before its end, nothing is ended by this run.
    assert play(tmp_path) == "undefined"
