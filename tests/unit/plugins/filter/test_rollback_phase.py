"""rollback_phase: the one reader of the rollback record, and the schema it returns (PHASE_DETAILS)
held to what the playbooks write and read."""
from __future__ import annotations

import datetime
import json
import re

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.runbooks.rollback.plugins.filter import rollback_phase as plugin
from ansible_collections.runbooks.rollback.plugins.filter.rollback_phase import rollback_phase
from ansible_collections.runbooks.rollback.plugins.module_utils import state as st
from ansible_collections.runbooks.rollback.plugins.module_utils.rollback_record import PHASE_DETAILS, PHASE_KEYS
from repo_yaml import read, walk, yaml_files

T0 = datetime.datetime(2026, 11, 24, 10, 0, 0, tzinfo=datetime.timezone.utc)
# Files allowed to dig into record.phases while they are being moved to the filter (none left): the
# test below fails when one listed here no longer digs.
PENDING: set = set()


def at(seconds: int) -> datetime.datetime:
    return T0 + datetime.timedelta(seconds=seconds)


# --- the reader -------------------------------------------------------------------------------

def test_an_unknown_phase_is_refused_with_the_known_ones():
    with pytest.raises(AnsibleFilterError, match=r"rollback_phase: unknown phase 'databse': one of decide, .*PHASE_DETAILS"):
        rollback_phase(st.new_state("R1", T0), "databse")


@pytest.mark.parametrize("record", [None, {}, {"phases": None}, "R1", [{"phases": {}}]])
def test_an_input_that_is_not_a_record_is_refused(record):
    with pytest.raises(AnsibleFilterError, match="must be the record runbooks.rollback.rollback_state returns"):
        rollback_phase(record, "stop")


def test_a_phase_that_never_ran_has_every_key_and_the_declared_defaults():
    state = st.apply(st.new_state("R1", T0), "decide", "completed", at(5), details={"scope": "full"})
    assert rollback_phase(state, "database") == {
        "phase": "database", "status": None, "started_at": None, "ended_at": None, "completed_at": "",
        "attempts": 0, "error": None,
        "details": {"backup_file": "", "loss_counts": {}, "loss_total": 0, "loss_since": None, "export_dir": "",
                    "dump_file": "", "dump_deferred": False, "export_moved_aside": False, "dump_moved_aside": False,
                    "kept_db": "", "already_swapped": False, "restored_ahead": False},
    }


def test_a_completed_phase_gives_its_record_and_its_details():
    details = {"backup_file": "/backups/od.dump", "scratch_db": "od_rollback_R1", "prepared": True}
    state = st.apply(st.new_state("R1", T0), "restore_ahead", "started", at(10))
    state = st.apply(state, "restore_ahead", "completed", at(70), details=details)
    assert rollback_phase(state, "restore_ahead") == {
        "phase": "restore_ahead", "status": "completed", "started_at": "2026-11-24T10:00:10Z",
        "ended_at": "2026-11-24T10:01:10Z", "completed_at": "2026-11-24T10:01:10Z", "attempts": 1, "error": None,
        "details": details,
    }


def test_a_started_phase_has_no_end_and_no_completion():
    state = st.apply(st.new_state("R1", T0), "stop", "started", at(3))
    phase = rollback_phase(state, "stop")
    assert (phase["status"], phase["started_at"], phase["ended_at"], phase["completed_at"], phase["attempts"]) == \
        ("started", "2026-11-24T10:00:03Z", None, "", 1)
    assert phase["details"] == {"maintenance_mode": None, "maintenance_on_at": None}


def test_a_failed_phase_gives_its_error_and_a_retry_counts_its_attempts():
    state = st.apply(st.new_state("R1", T0), "database", "started", at(1))
    state = st.apply(state, "database", "failed", at(9), message="pg_restore: error")
    failed = rollback_phase(state, "database")
    assert (failed["status"], failed["ended_at"], failed["completed_at"], failed["error"]) == \
        ("failed", "2026-11-24T10:00:09Z", "", "pg_restore: error")
    retried = rollback_phase(st.apply(state, "database", "started", at(60)), "database")
    assert (retried["status"], retried["attempts"], retried["error"], retried["ended_at"]) == ("started", 2, None, None)


def test_missing_details_get_their_defaults_and_recorded_ones_win_even_when_empty():
    # The end carried to the next write (apply_carried), as while the site is down.
    state = st.apply_carried(st.new_state("R1", T0), [
        {"phase": "code", "started_at": "2026-11-24T10:02:00Z", "ended_at": "2026-11-24T10:03:00Z",
         "details": {"commit_before": None, "built_ahead": True, "hosts": ["app1"], "extra": 1}}], at(200))
    details = rollback_phase(state, "code")["details"]
    # None recorded stays None (a reader's default('') never replaced it either).
    assert details["commit_before"] is None
    assert details["commit_after"] == ""
    assert details["built_ahead"] is True and details["hosts"] == ["app1"]
    assert details["switched_to"] is None and details["method"] is None
    # A key recorded but not declared (an older record) is kept.
    assert details["extra"] == 1
    assert set(details) == set(PHASE_DETAILS["code"]) | {"extra"}


def test_a_phase_forgotten_by_a_rescue_reads_as_never_ran():
    state = st.apply(st.new_state("R1", T0), "build_ahead", "completed", at(50), details={"migrated_db": "od_rollback_R1"})
    state = st.apply(state, "build_ahead", "reset", at(60))
    phase = rollback_phase(state, "build_ahead")
    assert phase["status"] is None and phase["details"]["migrated_db"] == ""


def test_the_defaults_are_not_shared_between_reads():
    state = st.new_state("R1", T0)
    rollback_phase(state, "recover_data")["details"]["conflicts"].append("x")
    rollback_phase(state, "database")["details"]["loss_counts"]["t"] = 1
    assert rollback_phase(state, "recover_data")["details"]["conflicts"] == []
    assert rollback_phase(state, "database")["details"]["loss_counts"] == {}
    assert PHASE_DETAILS["recover_data"]["conflicts"] == [] and PHASE_DETAILS["database"]["loss_counts"] == {}


def test_completed_at_is_when_the_stop_completed_and_empty_otherwise():
    # db_rollback_reuse_after (database and verify phases): exports saved since then are reused.
    state = st.apply(st.new_state("R1", T0), "stop", "started", at(1))
    assert rollback_phase(state, "stop")["completed_at"] == ""
    state = st.apply(state, "stop", "completed", at(30), details={"maintenance_on_at": "2026-11-24T10:00:20Z"})
    assert rollback_phase(state, "stop")["completed_at"] == "2026-11-24T10:00:30Z"


def test_the_documented_choices_are_the_declared_phases():
    choices = yaml.safe_load(plugin.DOCUMENTATION)["options"]["phase"]["choices"]
    assert choices == list(PHASE_DETAILS)
    returned = yaml.safe_load(plugin.RETURN)["_value"]["contains"]
    assert set(returned) == set(PHASE_KEYS) | {"details"}


def test_docs_reference_lists_each_phase_s_declared_details():
    section = read("docs/reference.md").split("### The rollback record", 1)[1].split("\n## ", 1)[0]
    rows = dict(re.findall(r"^\| `(\w+)` \| (.*) \|$", section, re.MULTILINE))
    assert set(rows) == set(PHASE_DETAILS), "one row per phase in docs/reference.md, The rollback record"
    for name, keys in PHASE_DETAILS.items():
        documented = [(key, json.loads(default)) for key, default in re.findall(r"`(\w+)` ([^,]+)", rows[name])]
        assert documented == list(keys.items()), "docs/reference.md, The rollback record: %s" % name


# --- the schema against the playbooks -----------------------------------------------------------

def _decide_keys(template: str) -> list[str]:
    """decide's phase_details is one template: the decision_result keys it selects and those it combines."""
    selected = re.search(r"selectattr\('key', 'in', \[([^\]]*)\]\)", template).group(1)
    combined = template.split("combine(", 1)[1]
    return re.findall(r"'(\w+)'", selected) + re.findall(r"'(\w+)':", combined)


def written_details() -> dict[str, tuple[str, list[str]]]:
    """{phase: (playbook, keys of its phase_details)} for every phase playbook."""
    found = {}
    for path in yaml_files("playbooks"):
        for node in walk(yaml.safe_load(read(path))):
            if "phase_name" in node and "phase_details" in node:
                details = node["phase_details"]
                keys = _decide_keys(details) if isinstance(details, str) else list(details)
                assert node["phase_name"] not in found, "two playbooks write the phase %s" % node["phase_name"]
                found[node["phase_name"]] = (path, keys)
    return found


def test_each_phase_playbook_writes_exactly_the_declared_details():
    written = written_details()
    assert set(written) == set(PHASE_DETAILS), "a phase playbook without a declared schema, or the reverse"
    for name, (path, keys) in written.items():
        assert len(keys) == len(set(keys)), (path, keys)
        assert set(keys) == set(PHASE_DETAILS[name]), (
            "%s writes phase_details %s; plugins/module_utils/rollback_record.py declares %s for %s"
            % (path, sorted(keys), sorted(PHASE_DETAILS[name]), name))


def test_decide_s_details_are_found_in_its_template():
    path, keys = written_details()["decide"]
    assert path == "playbooks/decide.yml"
    assert {"window", "symptoms", "scope", "started_at", "sessions"} <= set(keys)


BIND = re.compile(r"^\s*(\w+):\s*\"\{\{\s*[\w.]+\s*\|\s*runbooks\.rollback\.rollback_phase\('(\w+)'\)\s*\}\}\"\s*$", re.M)
DIRECT = re.compile(r"runbooks\.rollback\.rollback_phase\(('?)(\w+)\1\)\)\.(\w+)(?:\.(\w+))?")


def reads() -> list[tuple[str, str, str, str | None]]:
    """(file, phase, key, detail key or None) of every read through the filter in playbooks/ and roles/;
    phase '*' for a phase named by a variable (phase_name)."""
    found = []
    for path in yaml_files("playbooks", "roles"):
        text = "\n".join(line for line in read(path).splitlines() if not line.lstrip().startswith("#"))
        bound = {}
        for var, name in BIND.findall(text):
            assert bound.setdefault(var, name) == name, "%s: %s names two phases; use two names" % (path, var)
        for var, name in bound.items():
            uses = re.findall(r"(?<![\w.])%s\.(\w+)(?:\.(\w+))?" % re.escape(var), text)
            assert uses, "%s: %s is read nowhere" % (path, var)
            found += [(path, name, key, detail if key == "details" else None) for key, detail in uses]
        for quote, name, key, detail in DIRECT.findall(text):
            found.append((path, name if quote else "*", key, detail if key == "details" else None))
    return found


def test_the_scan_finds_the_reads():
    found = reads()
    assert ("playbooks/start.yml", "build_ahead", "details", "migrated_db") in found
    assert ("playbooks/verify.yml", "stop", "completed_at", None) in found
    assert ("roles/communicate/tasks/facts.yml", "stop", "details", "maintenance_on_at") in found
    assert ("roles/phase/tasks/start.yml", "*", "status", None) in found


def test_every_key_read_through_the_filter_is_declared():
    undeclared = []
    for path, name, key, detail in reads():
        if key not in PHASE_KEYS + ("details",):
            undeclared.append("%s: %s.%s" % (path, name, key))
        elif key == "details" and (detail is None or name == "*" or detail not in PHASE_DETAILS[name]):
            undeclared.append("%s: %s.details.%s" % (path, name, detail))
    assert not undeclared, "read only declared keys (plugins/module_utils/rollback_record.py): %s" % undeclared


def test_no_playbook_or_role_digs_into_the_record_s_phases():
    digs = re.compile(r"\.phases(\.|\[)")
    found = {path for path in yaml_files("playbooks", "roles") if digs.search(read(path))}
    assert found - PENDING == set(), "read the record through runbooks.rollback.rollback_phase"
    assert PENDING <= found, "%s no longer digs: remove it from PENDING" % sorted(PENDING - found)
