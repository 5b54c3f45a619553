"""rollback_audit: one JSON line per rollback run in an append-only, 0600 audit log."""
from __future__ import annotations

import datetime
import hashlib
import json
import os
import stat

import pytest

from ansible_collections.runbooks.rollback.plugins.module_utils import audit, private_file
from ansible_collections.runbooks.rollback.plugins.module_utils import state as st
from ansible_collections.runbooks.rollback.plugins.modules import rollback_audit
from module_runner import run_module, warning_messages

T0 = datetime.datetime(2026, 11, 24, 10, 0, 0, tzinfo=datetime.timezone.utc)
DECISION = {"deployed_at": "2026-11-24T08:30:00Z", "hours_since_deployment": 1.5, "window": "0-2h",
            "window_action": "rollback acceptable", "data_loss_risk": "minimal", "scenario": 1,
            "scenario_name": "critical", "recommended_action": "immediate rollback", "rollback_allowed": True,
            "overridden": False, "override_reason": None, "reason": "Deployed 1.5 h ago: rollback allowed.",
            "symptoms": []}
KEPT = ("hours_since_deployment", "window", "scenario", "scenario_name", "recommended_action",
        "rollback_allowed", "overridden", "override_reason", "reason")


def at(seconds: int) -> datetime.datetime:
    return T0 + datetime.timedelta(seconds=seconds)


def phase(state, name, status, start, end, message=None, details=None):
    state = st.apply(state, name, "started", at(start))
    return st.apply(state, name, status, at(end), message=message, details=details)


def completed_record(backup_file):
    """A whole rollback as the playbooks record it (the details each phase playbook gives)."""
    state = st.new_state("20261124T100000", T0)
    state = phase(state, "decide", "completed", 1, 5, details=dict(
        DECISION, scope="full", started_at="2026-11-24T10:00:01Z", backup_file=backup_file))
    state = phase(state, "stop", "completed", 6, 40, details={"programs": ["web", "celery_worker"]})
    state = phase(state, "database", "completed", 41, 300, details={
        "backup_file": backup_file, "loss_total": 12, "kept_db": "open_discussions_pre_rollback_20261124T100000"})
    state = phase(state, "code", "completed", 301, 360, details={"commit_before": "9f8e7d6c", "commit_after": "a1b2c3d4"})
    state = phase(state, "start", "completed", 361, 400)
    state = phase(state, "recover_data", "completed", 401, 460, details={"total_inserted": 10, "total_skipped": 2})
    return state


def run(capsys, tmp_path, check_mode=False, **args):
    args.setdefault("path", str(tmp_path / "state" / "audit.jsonl"))
    args.setdefault("rollback_id", "20261124T100000")
    args.setdefault("outcome", "completed")
    args.setdefault("who", "jdoe")
    if check_mode:
        args["_ansible_check_mode"] = True
    return run_module(rollback_audit, args, capsys)


def log_lines(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


# --- the module, writing real files -------------------------------------------------------

def test_a_completed_run_records_what_was_rolled_back_and_what_it_cost(capsys, tmp_path):
    backup = tmp_path / "backups" / "open_discussions_20261124.dump"
    backup.parent.mkdir()
    backup.write_bytes(b"PGDMP" + os.urandom(4096))
    result, failed = run(capsys, tmp_path, record=completed_record(str(backup)), environment="prod",
                         to_commit="v-not-used")
    assert not failed, result
    assert result["changed"] and result["lines"] == 1 and result["created"] and result["tightened_from"] is None
    path = tmp_path / "state" / "audit.jsonl"
    assert result["path"] == str(path)
    raw = path.read_bytes()
    assert raw.endswith(b"\n") and raw.count(b"\n") == 1
    line = json.loads(raw)
    assert line == result["entry"]
    assert list(line) == sorted(line), "keys are not sorted"
    assert set(line) == set(audit.FIELDS)
    assert line["format"] == 1 and line["rollback_id"] == "20261124T100000" and line["who"] == "jdoe"
    assert line["environment"] == "prod" and line["check_mode"] is False and line["outcome"] == "completed"
    assert line["failed_phase"] is None and line["error"] is None
    assert line["phases"] == [{"phase": name, "status": "completed"} for name in
                              ("decide", "stop", "database", "code", "start", "recover_data")]
    assert line["from_commit"] == "9f8e7d6c" and line["to_commit"] == "a1b2c3d4"
    assert line["backup_file"] == str(backup)
    assert line["backup_sha256"] == hashlib.sha256(backup.read_bytes()).hexdigest()
    assert result["backup_sha256_error"] is None
    assert (line["rows_lost"], line["rows_reimported"], line["rows_conflicting"]) == (12, 10, 2)
    assert line["decision"] == dict((key, DECISION[key]) for key in KEPT)
    assert line["scope"] == "full" and line["started_at"] == "2026-11-24T10:00:00Z"
    assert line["at"] == line["ended_at"] and line["at"].endswith("Z")
    assert datetime.datetime.fromisoformat(line["at"][:-1] + "+00:00") >= T0
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700


def test_a_refused_run_takes_the_decision_from_the_option(capsys, tmp_path):
    state = phase(st.new_state("20261124T100000", T0), "decide", "failed", 1, 3,
                  message="Rollback refused: scenario 3 minor calls for fix forward")
    denied = dict(DECISION, scenario=3, scenario_name="minor", recommended_action="fix forward",
                  rollback_allowed=False, reason="scenario 3 minor calls for fix forward: rollback refused.",
                  login_password="hunter2")
    result, failed = run(capsys, tmp_path, record=state, outcome="refused", failed_phase="decide",
                         error="Rollback refused: scenario 3 minor calls for fix forward", decision=denied,
                         to_commit="v2.3.1")
    assert not failed, result
    line = log_lines(tmp_path / "state" / "audit.jsonl")[0]
    assert line["outcome"] == "refused" and line["failed_phase"] == "decide"
    assert line["phases"] == [{"phase": "decide", "status": "failed"}]
    assert line["decision"] == dict((key, denied[key]) for key in KEPT)
    assert line["decision"]["rollback_allowed"] is False
    assert line["to_commit"] == "v2.3.1" and line["from_commit"] is None
    assert line["backup_file"] is None and line["backup_sha256"] is None
    assert result["backup_sha256_error"] == "the record names no backup file"
    assert "hunter2" not in (tmp_path / "state" / "audit.jsonl").read_text()


def test_a_failed_run_names_the_phase_and_cuts_a_long_error(capsys, tmp_path):
    state = completed_record("/nonexistent/backup.dump")
    state = st.apply(state, "verify", "started", at(500))
    long_error = "smoke test failed: " + "HTTP 502 from /health; " * 100
    state = st.apply(state, "verify", "failed", at(530), message=long_error)
    result, failed = run(capsys, tmp_path, record=state, outcome="failed", failed_phase="verify", error=long_error)
    assert not failed, result
    line = log_lines(tmp_path / "state" / "audit.jsonl")[0]
    assert line["outcome"] == "failed" and line["failed_phase"] == "verify"
    assert len(line["error"]) == 500 and line["error"].startswith("smoke test failed: HTTP 502")
    assert line["error"].endswith("\u2026") and line["error"][:499] == long_error[:499]
    assert line["phases"][-1] == {"phase": "verify", "status": "failed"}


def test_two_runs_append_two_lines_and_keep_the_first_byte_for_byte(capsys, tmp_path):
    path = tmp_path / "state" / "audit.jsonl"
    first, failed = run(capsys, tmp_path, outcome="refused", failed_phase="decide", error="refused")
    assert not failed and first["lines"] == 1
    before = path.read_bytes()
    second, failed = run(capsys, tmp_path, rollback_id="20261124T110000", record=completed_record(None))
    assert not failed and second["lines"] == 2
    after = path.read_bytes()
    assert after.startswith(before) and len(after) > len(before)
    lines = log_lines(path)
    assert [entry["rollback_id"] for entry in lines] == ["20261124T100000", "20261124T110000"]
    assert lines[1] == second["entry"]


def test_an_existing_0644_log_is_tightened_to_0600_with_a_warning(capsys, tmp_path):
    path = tmp_path / "audit.jsonl"
    path.write_text('{"format": 1, "rollback_id": "earlier"}\n')
    os.chmod(path, 0o644)
    result, failed = run(capsys, tmp_path, path=str(path))
    assert not failed, result
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert result["tightened_from"] == "0644" and not result["created"] and result["lines"] == 2
    assert any("had mode 0644" in w and "tightened to 0600" in w for w in warning_messages(result)), result
    assert path.read_text().startswith('{"format": 1, "rollback_id": "earlier"}\n')


def test_a_symlink_at_path_is_refused_and_its_target_untouched(capsys, tmp_path):
    target = tmp_path / "elsewhere"
    target.write_text("not the audit log\n")
    link = tmp_path / "audit.jsonl"
    link.symlink_to(target)
    for check_mode in (False, True):
        result, failed = run(capsys, tmp_path, check_mode=check_mode, path=str(link))
        assert failed, result
        assert "%s: it is a symbolic link (to %s)" % (link, target) in result["msg"], result["msg"]
        assert "replace the link with the real file" in result["msg"]
    assert target.read_text() == "not the audit log\n"


def test_a_symlink_created_after_the_check_is_refused_by_o_nofollow(tmp_path, monkeypatch):
    target = tmp_path / "elsewhere"
    target.write_text("x\n")
    link = tmp_path / "audit.jsonl"
    monkeypatch.setattr(private_file, "_inspect", lambda *args: None)  # the race: nothing there at the check
    link.symlink_to(target)
    with pytest.raises(audit.AuditError, match="it is a symbolic link"):
        audit.append(str(link), b"{}\n")
    assert target.read_text() == "x\n"


def test_a_path_that_is_not_a_regular_file_is_refused(capsys, tmp_path):
    (tmp_path / "audit.jsonl").mkdir()
    result, failed = run(capsys, tmp_path, path=str(tmp_path / "audit.jsonl"))
    assert failed and "is not a regular file" in result["msg"] and "move it away" in result["msg"], result


def test_a_fifo_at_path_is_refused_without_hanging(capsys, tmp_path):
    os.mkfifo(tmp_path / "audit.jsonl")
    result, failed = run(capsys, tmp_path, path=str(tmp_path / "audit.jsonl"))
    assert failed and "is not a regular file" in result["msg"], result


def test_check_mode_writes_nothing_and_returns_the_entry(capsys, tmp_path):
    result, failed = run(capsys, tmp_path, check_mode=True, record=completed_record(None))
    assert not failed, result
    assert not result["changed"] and result["lines"] == 1 and result["created"]
    assert result["entry"]["outcome"] == "completed" and result["entry"]["check_mode"] is True
    assert result["entry"]["rows_lost"] == 12
    assert not (tmp_path / "state").exists(), "check mode created the directory"
    # An existing log: unchanged, mode kept, the tightening only announced.
    path = tmp_path / "audit.jsonl"
    path.write_bytes(b'{"earlier": 1}\n')
    os.chmod(path, 0o640)
    result, failed = run(capsys, tmp_path, check_mode=True, path=str(path))
    assert not failed and not result["changed"] and result["lines"] == 2
    assert result["tightened_from"] == "0640"
    assert any("would be tightened" in w for w in warning_messages(result)), result
    assert path.read_bytes() == b'{"earlier": 1}\n' and stat.S_IMODE(os.stat(path).st_mode) == 0o640


def test_a_check_mode_rollback_is_recorded_with_check_mode_true(capsys, tmp_path):
    result, failed = run(capsys, tmp_path, check_mode_run=True)
    assert not failed and result["changed"]
    assert log_lines(tmp_path / "state" / "audit.jsonl")[0]["check_mode"] is True


def test_extra_keys_in_the_record_never_reach_the_log(capsys, tmp_path):
    state = completed_record(None)
    state["phases"]["database"]["details"].update(login_password="s3cr3t-db", db_url="postgres://u:s3cr3t-url@h/db")
    state["phases"]["decide"]["details"]["api_token"] = "s3cr3t-token"
    state["events"].append({"at": "2026-11-24T10:05:00Z", "phase": "stop", "status": "started",
                            "message": "s3cr3t-event"})
    state["secret"] = "s3cr3t-top"
    state["phases"]["stop"]["error"] = "s3cr3t-error"
    result, failed = run(capsys, tmp_path, record=state, environment="prod",
                         decision={"reason": "r", "vault_password": "s3cr3t-decision"})
    assert not failed, result
    text = (tmp_path / "state" / "audit.jsonl").read_text()
    assert "s3cr3t" not in text and "login_password" not in text and "api_token" not in text
    assert "s3cr3t" not in json.dumps(result["entry"])
    assert set(json.loads(text)) == set(audit.FIELDS)
    assert set(json.loads(text)["decision"]) == set(KEPT)


def test_a_backup_that_is_not_on_this_host_gives_a_null_checksum_and_the_reason(capsys, tmp_path):
    missing = str(tmp_path / "backups" / "gone.dump")
    result, failed = run(capsys, tmp_path, record=completed_record(missing))
    assert not failed, result
    line = log_lines(tmp_path / "state" / "audit.jsonl")[0]
    assert line["backup_file"] == missing and line["backup_sha256"] is None
    assert result["backup_sha256_error"] == ("cannot read the backup %s on this host: No such file or directory"
                                             % missing)
    assert "backup_sha256_error" not in line


def test_backup_sha256_false_does_not_read_the_backup(capsys, tmp_path):
    backup = tmp_path / "b.dump"
    backup.write_bytes(b"PGDMP")
    result, failed = run(capsys, tmp_path, record=completed_record(str(backup)), backup_sha256=False)
    assert not failed and result["entry"]["backup_sha256"] is None
    assert "backup_sha256=false" in result["backup_sha256_error"]


def test_an_empty_record_still_gives_an_entry_of_nulls(capsys, tmp_path):
    result, failed = run(capsys, tmp_path, outcome="failed", failed_phase="decide", error="state unreadable")
    assert not failed, result
    line = log_lines(tmp_path / "state" / "audit.jsonl")[0]
    assert set(line) == set(audit.FIELDS)
    assert line["phases"] == [] and line["decision"] is None and line["scope"] is None
    for key in ("environment", "from_commit", "to_commit", "backup_file", "backup_sha256", "rows_lost",
                "rows_reimported", "rows_conflicting", "started_at"):
        assert line[key] is None, key
    assert line["rollback_id"] == "20261124T100000" and line["failed_phase"] == "decide"


def test_a_record_of_another_rollback_is_written_with_a_warning(capsys, tmp_path):
    result, failed = run(capsys, tmp_path, record=st.new_state("other", T0))
    assert not failed and result["entry"]["rollback_id"] == "20261124T100000"
    assert any("record given is of rollback other" in w for w in warning_messages(result)), result


@pytest.mark.parametrize("args, message", [
    ({"outcome": "done"}, "value of outcome must be one of"),
    ({"record": "not a dict"}, "record"),
])
def test_bad_input(capsys, tmp_path, args, message):
    result, failed = run(capsys, tmp_path, **args)
    assert failed and message in result["msg"], result["msg"]


def test_a_directory_that_cannot_be_created_is_a_clear_failure(capsys, tmp_path):
    (tmp_path / "file").write_text("x")
    result, failed = run(capsys, tmp_path, path=str(tmp_path / "file" / "sub" / "audit.jsonl"))
    assert failed and str(tmp_path / "file" / "sub" / "audit.jsonl") in result["msg"], result


# --- the pure parts -----------------------------------------------------------------------

def test_every_string_is_cut_to_500_characters():
    long = "x" * 2000
    state = completed_record(long)
    state["phases"]["code"]["details"]["commit_after"] = long
    line = audit.entry(state, long, "failed", long, T0, failed_phase=long, error=long, environment=long,
                       decision={"reason": long})
    strings = [value for value in line.values() if isinstance(value, str)]
    strings += [value for value in line["decision"].values() if isinstance(value, str)]
    assert all(len(value) <= 500 for value in strings)
    for key in ("rollback_id", "who", "failed_phase", "error", "environment", "to_commit", "backup_file"):
        assert len(line[key]) == 500, key


def test_the_line_is_one_utf8_line_even_with_newlines_and_separators_in_values():
    line = audit.entry({}, "r1", "failed", "José", T0, error="line one\nline two\u2028three")
    data = audit.serialize(line)
    assert data.endswith(b"\n") and data.count(b"\n") == 1
    assert data.decode("utf-8").splitlines() == [data.decode("utf-8")[:-1]]
    assert "José" in data.decode("utf-8")
    assert json.loads(data) == line


def test_counts_given_as_text_are_numbers_and_nonsense_is_null():
    state = st.new_state("r1", T0)
    state = phase(state, "database", "completed", 1, 2, details={"loss_total": "7"})
    state = phase(state, "recover_data", "completed", 3, 4, details={"total_inserted": "many", "total_skipped": True})
    line = audit.entry(state, "r1", "completed", "jdoe", T0)
    assert (line["rows_lost"], line["rows_reimported"], line["rows_conflicting"]) == (7, None, None)


def test_the_backup_file_falls_back_from_database_to_restore_ahead_to_decide():
    state = st.new_state("r1", T0)
    state = phase(state, "decide", "completed", 1, 2, details={"backup_file": "/b/decide.dump"})
    assert audit.backup_file_of(state) == "/b/decide.dump"
    state = phase(state, "restore_ahead", "completed", 3, 4, details={"backup_file": "/b/ahead.dump"})
    assert audit.backup_file_of(state) == "/b/ahead.dump"
    state = phase(state, "database", "completed", 5, 6, details={"backup_file": ""})
    assert audit.backup_file_of(state) == "/b/ahead.dump"
    state = phase(state, "database", "completed", 7, 8, details={"backup_file": "/b/db.dump"})
    assert audit.backup_file_of(state) == "/b/db.dump"


def test_a_damaged_record_gives_nulls_not_an_error():
    damaged = {"phases": {"decide": "not a dict", "code": {"details": ["x"]}}, "order": "nope", "created_at": 5}
    line = audit.entry(damaged, "r1", "failed", "jdoe", T0)
    assert line["phases"] == [{"phase": "decide", "status": None}, {"phase": "code", "status": None}]
    assert line["from_commit"] is None and line["decision"] is None and line["started_at"] == "5"


def test_an_unterminated_last_line_is_ended_before_the_new_entry(tmp_path):
    path = tmp_path / "audit.jsonl"
    path.write_bytes(b'{"format": 1}\n{"cut')
    os.chmod(path, 0o600)
    written = audit.append(str(path), b'{"format": 1, "new": true}\n')
    assert path.read_bytes() == b'{"format": 1}\n{"cut\n{"format": 1, "new": true}\n'
    assert written["lines"] == 3 and any("not terminated" in w for w in written["warnings"])
