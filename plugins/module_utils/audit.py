# -*- coding: utf-8 -*-
# Copyright: (c) 2026, runbooks.rollback developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The audit log of rollbacks: one JSON line per run, appended, never rewritten.

``entry()`` is pure: it builds the line from a rollback's state record (as ``state.py``
keeps it) and what the playbook knows, taking only the fields listed in ``FIELDS``, so
nothing else the record holds (passwords in a phase's details, events) can reach the log.
Every string is cut to ``MAX_STRING`` characters.

``append()`` writes it through ``private_file.append_private``: the directory is created 0700
when missing, the file 0600 (a symbolic link or anything but a regular file is refused, a mode
wider than 0600 is tightened), the line is written and synced. Earlier lines are never touched.
"""

from __future__ import absolute_import, division, print_function, annotations
__metaclass__ = type

import datetime
import hashlib
import json
import os
import stat
from typing import Any, Callable, Dict, List, Optional, Tuple

from ansible_collections.runbooks.rollback.plugins.module_utils.private_file import PrivateFileError, append_private
from ansible_collections.runbooks.rollback.plugins.module_utils.timeutil import isoformat

FORMAT_VERSION = 1
MAX_STRING = 500
OUTCOMES = ("completed", "failed", "refused")
DECISION_KEYS = ("hours_since_deployment", "window", "scenario", "scenario_name", "recommended_action",
                 "rollback_allowed", "overridden", "override_reason", "reason")
FIELDS = ("format", "rollback_id", "at", "who", "environment", "check_mode", "outcome", "failed_phase",
          "error", "decision", "scope", "phases", "from_commit", "to_commit", "backup_file", "backup_sha256",
          "rows_lost", "rows_reimported", "rows_conflicting", "started_at", "ended_at")
_CHUNK = 1024 * 1024


class AuditError(Exception):
    """The audit log cannot be written; the message names the file and what to do."""


# --- the entry (pure) ---------------------------------------------------------------------

def clip(value: Any) -> Any:
    """A string cut to MAX_STRING characters (the last one an ellipsis), valid UTF-8."""
    if not isinstance(value, str):
        return value
    # A lone surrogate (undecodable bytes passed through) cannot be written as UTF-8.
    value = value.encode("utf-8", "replace").decode("utf-8")
    if len(value) > MAX_STRING:
        value = value[:MAX_STRING - 1] + "\u2026"
    return value


def _scalar(value: Any) -> Any:
    """A JSON scalar, clipped; anything else (a dict, a list) is dropped as null."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return clip(value)
    return None


def _text(value: Any) -> Optional[str]:
    """A non-empty string (numbers as text, e.g. a commit given as digits), else null."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        return None
    return clip(value)


def _count(value: Any) -> Optional[int]:
    """A row count: an int, or a string of digits (a templated value), else null."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def _mapping(value: Any) -> Dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _details(record: Dict[str, Any], phase: str) -> Dict[str, Any]:
    return _mapping(_mapping(_mapping(record.get("phases")).get(phase)).get("details"))


def _decision(source: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """The decision's keys of DECISION_KEYS (all of them, null when missing); null when none."""
    if not any(key in source for key in DECISION_KEYS):
        return None
    return dict((key, _scalar(source.get(key))) for key in DECISION_KEYS)


def _phases(record: Dict[str, Any]) -> List[Dict[str, Any]]:
    """[{phase, status}] in the record's order (first start), then any phase the order misses."""
    phases = _mapping(record.get("phases"))
    order = record.get("order") if isinstance(record.get("order"), list) else []
    names = [name for name in order if isinstance(name, str)]
    names += [name for name in phases if isinstance(name, str) and name not in names]
    seen = set()
    listed = []
    for name in names:
        if name in seen:
            continue
        seen.add(name)
        listed.append({"phase": clip(name), "status": _text(_mapping(phases.get(name)).get("status"))})
    return listed


def backup_file_of(record: Dict[str, Any]) -> Optional[str]:
    """The backup the rollback restored: the database phase's, else restore_ahead's, else decide's."""
    for phase in ("database", "restore_ahead", "decide"):
        found = _text(_details(record, phase).get("backup_file"))
        if found:
            return found
    return None


def entry(record: Optional[Dict[str, Any]], rollback_id: str, outcome: str, who: str,
          now: datetime.datetime, failed_phase: Optional[str] = None, error: Optional[str] = None,
          environment: Optional[str] = None, check_mode: bool = False,
          decision: Optional[Dict[str, Any]] = None, to_commit: Optional[str] = None,
          backup_sha256: Optional[str] = None) -> Dict[str, Any]:
    """The audit line of one run, exactly the keys of FIELDS; what is not known is null."""
    if outcome not in OUTCOMES:
        raise AuditError("outcome %r is not one of %s" % (outcome, ", ".join(OUTCOMES)))
    record = _mapping(record)
    decide = _details(record, "decide")
    code = _details(record, "code")
    database = _details(record, "database")
    recovered = _details(record, "recover_data")
    stamp = isoformat(now)
    line = {
        "format": FORMAT_VERSION,
        "rollback_id": clip(rollback_id),
        "at": stamp,
        "who": clip(who),
        "environment": _text(environment),
        "check_mode": bool(check_mode),
        "outcome": outcome,
        "failed_phase": _text(failed_phase),
        "error": _text(error),
        "decision": _decision(decide) or _decision(_mapping(decision)),
        "scope": _text(decide.get("scope")),
        "phases": _phases(record),
        "from_commit": _text(code.get("commit_before")),
        "to_commit": _text(code.get("commit_after")) or _text(to_commit),
        "backup_file": backup_file_of(record),
        "backup_sha256": backup_sha256,
        "rows_lost": _count(database.get("loss_total")),
        "rows_reimported": _count(recovered.get("total_inserted")),
        "rows_conflicting": _count(recovered.get("total_skipped")),
        "started_at": _text(record.get("created_at")),
        "ended_at": stamp,
    }
    return line


def serialize(line: Dict[str, Any]) -> bytes:
    """One line of JSON, keys sorted, UTF-8, newline-terminated.

    U+2028/U+2029 are escaped too: some readers split lines on them.
    """
    text = json.dumps(line, sort_keys=True, ensure_ascii=False)
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return (text + "\n").encode("utf-8")


# --- the backup's checksum ----------------------------------------------------------------

def sha256_of(path: Optional[str]) -> Tuple[Optional[str], Optional[str]]:
    """(sha256, None) of a readable regular file, else (None, why): never raises."""
    if not path:
        return None, "the record names no backup file"
    try:
        # O_NONBLOCK: a FIFO at the path must not hang the run; it is refused below.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        return None, "cannot read the backup %s on this host: %s" % (path, exc.strerror or exc)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None, "the backup %s is not a regular file" % path
        digest = hashlib.sha256()
        while True:
            chunk = os.read(fd, _CHUNK)
            if not chunk:
                break
            digest.update(chunk)
        return digest.hexdigest(), None
    except OSError as exc:
        return None, "cannot read the backup %s on this host: %s" % (path, exc.strerror or exc)
    finally:
        os.close(fd)


# --- the log (append-only) ----------------------------------------------------------------

def _count_lines(path: str) -> int:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        lines = 0
        while True:
            chunk = os.read(fd, _CHUNK)
            if not chunk:
                return lines
            lines += chunk.count(b"\n")
    finally:
        os.close(fd)


def append(path: str, data: bytes, check_mode: bool = False) -> Dict[str, Any]:
    """Append data (one line) to the log at path; return lines, tightened_from, created, warnings.

    In check mode nothing is created or changed: the same checks are made and the count
    of lines the log would have is returned.
    """
    try:
        done = append_private(path, data, "the audit log %s" % path, check_mode=check_mode)
    except PrivateFileError as exc:
        raise AuditError(str(exc))
    result = {"tightened_from": done["tightened_from"], "created": done["created"], "warnings": done["warnings"]}
    if check_mode:
        result["lines"] = ((0 if done["created"] else _count_lines(path)) + data.count(b"\n")
                           + (1 if done["ended_cut_line"] else 0))
        return result
    try:
        result["lines"] = _count_lines(path)
    except OSError as exc:
        raise AuditError("the entry was appended to %s but the log cannot be read back: %s"
                         % (path, exc.strerror or exc))
    return result


def record_run(params: Dict[str, Any], now: datetime.datetime, check_mode: bool,
               hasher: Callable[[Optional[str]], Tuple[Optional[str], Optional[str]]] = sha256_of
               ) -> Dict[str, Any]:
    """Build the entry from the module's params, append it (not in check mode); the module's result."""
    record = _mapping(params.get("record"))
    warnings = []
    record_id = record.get("rollback_id")
    if record and record_id not in (None, params["rollback_id"]):
        warnings.append("the record given is of rollback %s, not %s; the entry names %s: pass the record "
                        "rollback_state returned for this rollback" % (clip(str(record_id)),
                                                                       clip(params["rollback_id"]),
                                                                       clip(params["rollback_id"])))
    if not (params.get("who") or "").strip():
        warnings.append("who is empty: the entry does not say who ran the rollback; pass the AWX user "
                        "(awx_user_name) or the controller's user")
    if params.get("backup_sha256", True):
        digest, digest_error = hasher(backup_file_of(record))
    else:
        digest, digest_error = None, "not computed (backup_sha256=false)"
    line = entry(record, params["rollback_id"], params["outcome"], params.get("who") or "", now,
                 failed_phase=params.get("failed_phase"), error=params.get("error"),
                 environment=params.get("environment"),
                 check_mode=bool(params.get("check_mode_run")) or check_mode,
                 decision=params.get("decision"), to_commit=params.get("to_commit"), backup_sha256=digest)
    written = append(params["path"], serialize(line), check_mode)
    return {"changed": not check_mode, "entry": line, "path": params["path"], "lines": written["lines"],
            "created": written["created"], "tightened_from": written["tightened_from"],
            "backup_sha256_error": digest_error, "warnings": warnings + written["warnings"]}
