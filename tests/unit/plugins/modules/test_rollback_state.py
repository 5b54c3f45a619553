"""rollback_state: the state file of a rollback, and the timeline filters reading it."""
from __future__ import annotations

import datetime
import json
import os
import stat

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.runbooks.rollback.plugins.filter.duration import duration
from ansible_collections.runbooks.rollback.plugins.filter.timeline import timeline
from ansible_collections.runbooks.rollback.plugins.module_utils import state as st
from ansible_collections.runbooks.rollback.plugins.modules import rollback_state
from module_runner import run_module

T0 = datetime.datetime(2026, 11, 24, 10, 0, 0, tzinfo=datetime.timezone.utc)


def at(seconds: int) -> datetime.datetime:
    return T0 + datetime.timedelta(seconds=seconds)


def record(capsys, tmp_path, check_mode=False, **args):
    args.setdefault("rollback_id", "20261124T100000")
    args.setdefault("state_dir", str(tmp_path / "state"))
    if check_mode:
        args["_ansible_check_mode"] = True
    return run_module(rollback_state, args, capsys)


# --- the pure state machine -------------------------------------------------------------

def test_a_phase_is_started_then_completed_with_times_and_details():
    state = st.new_state("r1", T0)
    state = st.apply(state, "stop", "started", at(2))
    state = st.apply(state, "stop", "completed", at(40), details={"programs": ["web"]})
    phase = state["phases"]["stop"]
    assert phase == {"status": "completed", "started_at": "2026-11-24T10:00:02Z",
                     "ended_at": "2026-11-24T10:00:40Z", "attempts": 1, "details": {"programs": ["web"]},
                     "error": None}
    assert [e["status"] for e in state["events"]] == ["started", "completed"]
    assert st.completed(state) == ["stop"]


def test_apply_does_not_modify_its_input():
    state = st.new_state("r1", T0)
    before = json.dumps(state, sort_keys=True)
    st.apply(state, "stop", "started", at(1))
    assert json.dumps(state, sort_keys=True) == before


def test_a_failed_phase_is_retried_as_a_new_attempt_and_keeps_its_details():
    state = st.new_state("r1", T0)
    state = st.apply(state, "database", "started", at(1), details=None)
    state = st.apply(state, "database", "failed", at(5), message="pg_restore: error", details={"dump": "/x"})
    assert state["phases"]["database"]["error"] == "pg_restore: error"
    state = st.apply(state, "database", "started", at(60))
    phase = state["phases"]["database"]
    assert phase["status"] == "started" and phase["attempts"] == 2 and phase["started_at"] == "2026-11-24T10:01:00Z"
    assert phase["error"] is None and phase["ended_at"] is None and phase["details"] == {"dump": "/x"}
    assert st.completed(state) == []


def test_starting_a_completed_phase_changes_nothing():
    state = st.apply(st.apply(st.new_state("r1", T0), "stop", "started", at(1)), "stop", "completed", at(2))
    assert st.apply(state, "stop", "started", at(100)) == state


def test_reset_forgets_a_phase_and_its_place_in_the_order():
    state = st.new_state("r1", T0)
    for phase in ("decide", "stop", "database"):
        state = st.apply(st.apply(state, phase, "started", at(1)), phase, "completed", at(2))
    state = st.apply(state, "stop", "reset", at(3), message="services started again by the rescue")
    assert state["order"] == ["decide", "database"] and "stop" not in state["phases"]
    assert state["events"][-1] == {"at": "2026-11-24T10:00:03Z", "phase": "stop", "status": "reset",
                                   "message": "services started again by the rescue"}


@pytest.mark.parametrize("phase", ["", "Stop", "1st", "stop;rm", "a" * 65, None])
def test_bad_phase_names_are_refused(phase):
    with pytest.raises(st.StateError, match="is not a phase name"):
        st.apply(st.new_state("r1", T0), phase, "started", T0)


@pytest.mark.parametrize("rollback_id", ["", "../etc/passwd", "a/b", ".hidden", "x" * 129, "has space"])
def test_rollback_ids_that_are_not_file_names_are_refused(rollback_id):
    with pytest.raises(st.StateError, match="not usable in a file name"):
        st.state_path("/tmp", rollback_id)


# --- the module, writing real files -------------------------------------------------------

def test_the_state_file_is_written_0600_in_a_0700_directory(capsys, tmp_path):
    result, failed = record(capsys, tmp_path, phase="stop", status="started")
    assert not failed, result
    assert result["changed"] and not result["exists"] and result["previous_status"] is None
    path = tmp_path / "state" / "20261124T100000.json"
    assert result["state_file"] == str(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    on_disk = json.loads(path.read_text())
    assert on_disk["phases"]["stop"]["status"] == "started" and on_disk == result["record"]
    assert not [p for p in os.listdir(path.parent) if p.startswith(".state-")], "temporary file left behind"


def test_a_rerun_sees_completed_phases_and_skips_them(capsys, tmp_path):
    record(capsys, tmp_path, phase="stop", status="started")
    record(capsys, tmp_path, phase="stop", status="completed", details={"stopped": 3})
    result, failed = record(capsys, tmp_path, phase="stop", status="started")
    assert not failed
    assert result["previous_status"] == "completed" and not result["changed"]
    assert result["completed_phases"] == ["stop"]
    assert result["record"]["phases"]["stop"]["details"] == {"stopped": 3}


def test_reading_without_a_phase_changes_nothing_and_writes_nothing(capsys, tmp_path):
    result, failed = record(capsys, tmp_path)
    assert not failed and not result["changed"] and not result["exists"]
    assert result["record"]["phases"] == {} and result["completed_phases"] == []
    assert not (tmp_path / "state").exists()


def test_check_mode_reports_the_change_and_writes_nothing(capsys, tmp_path):
    record(capsys, tmp_path, phase="stop", status="started")
    path = tmp_path / "state" / "20261124T100000.json"
    before = path.read_bytes()
    result, failed = record(capsys, tmp_path, check_mode=True, phase="stop", status="completed")
    assert not failed and result["changed"]
    assert result["record"]["phases"]["stop"]["status"] == "completed"
    assert path.read_bytes() == before


def test_a_damaged_state_file_is_named_with_the_fix(capsys, tmp_path):
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "20261124T100000.json").write_text('{"phases": {')
    result, failed = record(capsys, tmp_path, phase="stop")
    assert failed
    assert "20261124T100000.json is not valid JSON" in result["msg"] and "move it away" in result["msg"]


def test_a_state_file_of_another_rollback_is_refused(capsys, tmp_path):
    record(capsys, tmp_path, rollback_id="other", phase="stop")
    os.rename(tmp_path / "state" / "other.json", tmp_path / "state" / "20261124T100000.json")
    result, failed = record(capsys, tmp_path, phase="stop")
    assert failed and "is not the state file of rollback 20261124T100000" in result["msg"]


def test_an_unwritable_state_dir_is_a_clear_failure(capsys, tmp_path):
    (tmp_path / "file").write_text("x")
    result, failed = record(capsys, tmp_path, state_dir=str(tmp_path / "file" / "sub"), phase="stop")
    assert failed and "cannot read the rollback state %s" % (tmp_path / "file" / "sub") in result["msg"]
    assert "pass state_dir" in result["msg"]


def test_a_state_dir_that_cannot_be_created_is_a_clear_failure(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(st.StateError, match="cannot write the rollback state in .*pass state_dir"):
        st.write(str(tmp_path / "file" / "sub" / "r1.json"), st.new_state("r1", T0))


def test_other_rollbacks_that_restored_since_the_deployment_are_listed(capsys, tmp_path):
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    done = st.apply(st.apply(st.new_state("early", T0), "database", "started", at(0)), "database", "completed",
                    at(60), details={"kept_db": "open_discussions_pre_rollback_early"})
    st.write(str(state_dir / "early.json"), done)
    later = st.apply(st.apply(st.new_state("later", T0), "database", "started", at(3600)), "database", "completed",
                     at(3660))
    st.write(str(state_dir / "later.json"), later)
    failed_restore = st.apply(st.new_state("broken", T0), "database", "failed", at(3700), "no_such_table")
    st.write(str(state_dir / "broken.json"), failed_restore)
    (state_dir / "damaged.json").write_text("{")
    (state_dir / "notes.txt").write_text("not a state")
    since = (T0 + datetime.timedelta(seconds=30)).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    result, failed = record(capsys, tmp_path, rollback_id="current", restored_since=since)
    assert not failed and not result["changed"]
    listed = {item["rollback_id"]: item for item in result["other_restores"]}
    assert set(listed) == {"early", "later", "damaged"}
    assert listed["early"]["restored_at"] == "2026-11-24T10:01:00Z"
    assert listed["early"]["kept_db"] == "open_discussions_pre_rollback_early"
    assert listed["later"]["error"] is None
    assert "not valid JSON" in listed["damaged"]["error"]
    # A restore before the time does not count, nor does the rollback itself.
    result, failed = record(capsys, tmp_path, rollback_id="later", restored_since="2026-11-24T10:30:00Z")
    assert not failed
    assert [item["rollback_id"] for item in result["other_restores"]] == ["damaged"]


def test_restored_since_needs_a_zone(capsys, tmp_path):
    result, failed = record(capsys, tmp_path, restored_since="2026-11-24T10:00:00")
    assert failed and "restored_since" in result["msg"], result["msg"]


@pytest.mark.parametrize("args, message", [
    ({"rollback_id": "../x", "phase": "stop"}, "not usable in a file name"),
    ({"phase": "Stop Services"}, "is not a phase name"),
    ({"phase": "stop", "status": "done"}, "value of status must be one of"),
    ({"phase": "stop", "details": "not a dict"}, "details"),
])
def test_bad_input(capsys, tmp_path, args, message):
    result, failed = record(capsys, tmp_path, **args)
    assert failed and message in result["msg"], result["msg"]


# --- the timeline filters -----------------------------------------------------------------

def test_timeline_rows_have_durations_in_the_order_phases_started():
    state = st.new_state("r1", T0)
    state = st.apply(state, "stop", "started", at(0))
    state = st.apply(state, "stop", "completed", at(38))
    state = st.apply(state, "database", "started", at(40))
    state = st.apply(state, "database", "failed", at(40 + 3725), message="boom")
    state = st.apply(state, "code", "started", at(4000))
    rows = timeline(state)
    assert [(r["phase"], r["status"], r["duration"]) for r in rows] == [
        ("stop", "completed", "38s"), ("database", "failed", "1h 02m 05s"), ("code", "started", "-")]
    assert rows[1]["duration_seconds"] == 3725 and rows[1]["error"] == "boom"
    assert rows[2]["ended_at"] is None and rows[2]["duration_seconds"] is None


@pytest.mark.parametrize("seconds, text", [(0, "0s"), (59.6, "1m 00s"), (65, "1m 05s"), ("3600", "1h 00m 00s"),
                                           (None, "-"), (-5, "-5s")])
def test_duration(seconds, text):
    assert duration(seconds) == text


def test_filters_refuse_what_they_cannot_read():
    with pytest.raises(AnsibleFilterError, match="expected the 'record'"):
        timeline(["not", "a", "state"])
    with pytest.raises(AnsibleFilterError, match="expected a number of seconds"):
        duration("soon")


def test_a_failure_is_recorded_with_its_note(capsys, tmp_path):
    record(capsys, tmp_path, phase="database", status="started")
    result, failed = record(capsys, tmp_path, phase="database", status="failed",
                            note="rb-db: task 'Restore' failed: pg_restore: error")
    assert not failed and result["changed"] and result["previous_status"] == "started"
    phase = result["record"]["phases"]["database"]
    assert phase["status"] == "failed" and phase["error"] == "rb-db: task 'Restore' failed: pg_restore: error"
    assert result["record"]["events"][-1]["message"] == phase["error"]
    assert result["completed_phases"] == []


# --- an end carried to the next phase's start (complete_first) ---------------------------------

def test_an_end_carried_to_the_next_start_is_written_with_it_in_one_write(capsys, tmp_path):
    record(capsys, tmp_path, phase="stop")
    result, failed = record(capsys, tmp_path, phase="database",
                            complete_first={"phase": "stop", "details": {"maintenance_mode": "page"}})
    assert not failed and result["changed"]
    phases = result["record"]["phases"]
    assert phases["stop"]["status"] == "completed" and phases["stop"]["details"] == {"maintenance_mode": "page"}
    assert phases["database"]["status"] == "started" and result["previous_status"] is None
    events = [(e["phase"], e["status"]) for e in result["record"]["events"]]
    assert events == [("stop", "started"), ("stop", "completed"), ("database", "started")]
    on_disk = json.loads((tmp_path / "state" / "20261124T100000.json").read_text())
    assert on_disk["phases"]["stop"]["status"] == "completed" and on_disk["phases"]["database"]["status"] == "started"


def test_an_end_carried_to_a_read_is_written_and_a_completed_next_phase_stays_completed(capsys, tmp_path):
    record(capsys, tmp_path, phase="database")
    record(capsys, tmp_path, phase="database", status="completed")
    record(capsys, tmp_path, phase="stop")
    # A resumed run: stop done again, database completed earlier; the read of a rescue carries the end too.
    result, _failed = record(capsys, tmp_path, phase="database", complete_first={"phase": "stop"})
    assert result["previous_status"] == "completed"
    assert result["record"]["phases"]["database"]["attempts"] == 1
    assert result["record"]["phases"]["stop"]["status"] == "completed"
    record(capsys, tmp_path, phase="code")
    result, _failed = record(capsys, tmp_path, complete_first={"phase": "code", "details": {"built_ahead": True}})
    assert result["changed"] and result["completed_phases"] == ["database", "stop", "code"]


def test_an_end_carried_in_check_mode_is_not_written(capsys, tmp_path):
    record(capsys, tmp_path, phase="stop")
    result, _failed = record(capsys, tmp_path, check_mode=True, phase="database", complete_first={"phase": "stop"})
    assert result["record"]["phases"]["stop"]["status"] == "completed"
    on_disk = json.loads((tmp_path / "state" / "20261124T100000.json").read_text())
    assert on_disk["phases"]["stop"]["status"] == "started" and "database" not in on_disk["phases"]


def test_carried_phases_with_their_own_times_are_written_in_order_in_one_write(capsys, tmp_path):
    # While the site is down: the database's end, then the code phase's start and end (never written on
    # its own), then the re-import's, all with the start of the start phase.
    record(capsys, tmp_path, phase="database")
    carried = [
        {"phase": "database", "details": {"kept_db": "od_pre"}, "ended_at": "2026-11-24T10:00:01Z"},
        {"phase": "code", "started_at": "2026-11-24T10:00:01Z", "ended_at": "2026-11-24T10:00:02Z",
         "details": {"commit_after": "abc"}},
        {"phase": "recover_data", "started_at": "2026-11-24T10:00:02Z", "ended_at": "2026-11-24T10:00:03Z"},
    ]
    result, failed = record(capsys, tmp_path, phase="start", complete_first=carried)
    assert not failed, result
    phases = result["record"]["phases"]
    assert phases["database"]["ended_at"] == "2026-11-24T10:00:01Z" and phases["database"]["details"] == {
        "kept_db": "od_pre"}
    assert (phases["code"]["status"], phases["code"]["started_at"], phases["code"]["ended_at"],
            phases["code"]["attempts"]) == ("completed", "2026-11-24T10:00:01Z", "2026-11-24T10:00:02Z", 1)
    assert phases["code"]["details"] == {"commit_after": "abc"}
    assert phases["recover_data"]["started_at"] == "2026-11-24T10:00:02Z"
    assert result["record"]["order"] == ["database", "code", "recover_data", "start"]
    events = [(e["phase"], e["status"], e["at"]) for e in result["record"]["events"]][1:]
    assert events[:5] == [("database", "completed", "2026-11-24T10:00:01Z"),
                          ("code", "started", "2026-11-24T10:00:01Z"), ("code", "completed", "2026-11-24T10:00:02Z"),
                          ("recover_data", "started", "2026-11-24T10:00:02Z"),
                          ("recover_data", "completed", "2026-11-24T10:00:03Z")]
    assert events[5][:2] == ("start", "started")
    on_disk = json.loads((tmp_path / "state" / "20261124T100000.json").read_text())
    assert on_disk["phases"]["recover_data"]["status"] == "completed"


def test_a_carried_start_without_an_end_is_only_started_then_the_failure_ends_that_attempt(capsys, tmp_path):
    # The rescue of a phase whose start was carried: what was carried, then the failure.
    record(capsys, tmp_path, phase="stop")
    result, failed = record(capsys, tmp_path, complete_first=[
        {"phase": "stop", "ended_at": "2026-11-24T10:00:01Z"},
        {"phase": "database", "started_at": "2026-11-24T10:00:01Z"}])
    assert not failed, result
    assert result["record"]["phases"]["database"]["status"] == "started"
    assert result["completed_phases"] == ["stop"]
    result, _failed = record(capsys, tmp_path, phase="database", status="failed", note="restore failed")
    database = result["record"]["phases"]["database"]
    assert (database["status"], database["attempts"], database["started_at"]) == ("failed", 1, "2026-11-24T10:00:01Z")


def test_a_carried_start_of_a_phase_completed_earlier_adds_no_attempt(capsys, tmp_path):
    record(capsys, tmp_path, phase="code")
    record(capsys, tmp_path, phase="code", status="completed", details={"commit_after": "abc"})
    result, _failed = record(capsys, tmp_path, phase="start", complete_first=[
        {"phase": "code", "started_at": "2026-11-24T10:00:01Z", "ended_at": "2026-11-24T10:00:02Z",
         "details": {"switched": True}}])
    code = result["record"]["phases"]["code"]
    assert code["attempts"] == 1 and code["details"] == {"commit_after": "abc", "switched": True}


@pytest.mark.parametrize("carried, message", [
    ({"phase": "Stop!"}, "phase"),
    ({"phase": "stop", "details": ["not", "a", "dict"]}, "complete_first.details must be a dict"),
    ([{"phase": "stop"}, "code"], "complete_first must be a dict or a list of dicts"),
    ([{"phase": "stop", "ended": "2026-11-24T10:00:01Z"}], "complete_first has unknown keys ended for phase stop"),
    ([{"phase": "stop", "ended_at": "yesterday"}], "complete_first.ended_at"),
])
def test_a_bad_carried_end_is_refused_and_nothing_written(capsys, tmp_path, carried, message):
    record(capsys, tmp_path, phase="stop")
    result, failed = record(capsys, tmp_path, phase="database", complete_first=carried)
    assert failed and message in result["msg"]
    on_disk = json.loads((tmp_path / "state" / "20261124T100000.json").read_text())
    assert on_disk["phases"]["stop"]["status"] == "started" and "database" not in on_disk["phases"]
