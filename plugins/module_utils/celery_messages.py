# -*- coding: utf-8 -*-
# Copyright: (c) 2026, runbooks.rollback developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Celery messages as kombu's redis transport stores them, and the file removed ones are saved to.

Where kombu keeps a queue's messages (``kombu/transport/redis.py``):

- the list named after the queue, pushed at its left (LPUSH) by producers, popped at its right
  (BRPOP) by workers; a message with a priority goes to ``<queue>`` + ``SEP`` + ``<priority>``
  (priority 1 to 9; 0 is the plain list);
- the hash ``unacked`` (field: delivery tag, value: JSON ``[message, exchange, routing_key]``) and the
  sorted set ``unacked_index`` (member: delivery tag): messages a worker fetched and did not ack yet
  (ETA or countdown tasks it holds, or a worker killed before its ack); kombu pushes them back to
  the list of ``routing_key`` at a warm shutdown or once the visibility timeout has passed.

A message (one list element) is JSON: ``{"body": <base64>, "content-encoding", "content-type",
"headers": {"task", "id", "eta", ...}, "properties": {"delivery_info": {"exchange", "routing_key"},
"priority", "body_encoding", "delivery_tag"}}``. Task protocol 2 names the task in ``headers.task``;
protocol 1 in the decoded body (JSON ``{"task", "id", "eta", ...}``). A message that cannot be read
has the task None: it counts as unknown, reported as ``UNREADABLE``.

Everything here is pure except the save file's ``append_lines``, ``read_saved`` and ``write_new``
(written through ``private_file.append_private``, as the audit log is).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import binascii
import errno
import json
import os
import stat
from typing import Any, Dict, Iterable, List, Optional, Tuple

from ansible_collections.runbooks.rollback.plugins.module_utils.private_file import PrivateFileError, append_private

SEP = "\x06\x16"
PRIORITIES = tuple(range(1, 10))
UNACKED_KEY = "unacked"
UNACKED_INDEX_KEY = "unacked_index"
UNREADABLE = "(unreadable)"
SOURCES = ("list", "unacked")


class SaveFileError(Exception):
    """The save file cannot be written or read; the message names the file and what to do."""


# --- keys ---------------------------------------------------------------------------------

def priority_key(queue, priority):
    # type: (str, int) -> str
    """The list of a queue's messages of that priority (0: the queue's own list)."""
    return "%s%s%d" % (queue, SEP, priority) if priority else queue


def queue_keys(queue, prefix=""):
    # type: (str, str) -> List[Tuple[str, int]]
    """[(list key, priority)] of a queue: the plain list, then priorities 1 to 9."""
    return [(prefix + priority_key(queue, priority), priority) for priority in (0,) + PRIORITIES]


def readable_key(key):
    # type: (str) -> str
    """``celery`` stays ``celery``; ``celery\\x06\\x163`` is ``celery (priority 3)``."""
    if SEP in key:
        queue, _sep, priority = key.rpartition(SEP)
        if priority.isdigit():
            return "%s (priority %s)" % (queue, priority)
    return key


def text(value):
    # type: (Any) -> str
    """A key or value read from redis (bytes) as text."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


# --- messages -----------------------------------------------------------------------------

def _mapping(value):
    # type: (Any) -> Dict[str, Any]
    return value if isinstance(value, dict) else {}


def _scalar(value):
    # type: (Any) -> Any
    """A JSON scalar as it is; anything else (a list, a dict) as its JSON text."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    try:
        return json.dumps(value, sort_keys=True)
    except (TypeError, ValueError):
        return str(value)


def _body(payload):
    # type: (Dict[str, Any]) -> Any
    """The decoded body when it is JSON (protocol 1), else None."""
    body = payload.get("body")
    properties = _mapping(payload.get("properties"))
    if not isinstance(body, str):
        return None
    data = body.encode("utf-8")
    if properties.get("body_encoding") == "base64":
        try:
            data = base64.b64decode(data, validate=False)
        except (binascii.Error, ValueError):
            return None
    if "json" not in str(payload.get("content-type") or "application/json"):
        return None  # pickle, msgpack or yaml: not read here
    try:
        return json.loads(data.decode(str(payload.get("content-encoding") or "utf-8")))
    except (LookupError, UnicodeDecodeError, ValueError):
        return None


def parse_payload(payload):
    # type: (Any) -> Dict[str, Any]
    """What a decoded message says: task, id, eta, delivery_tag, priority, exchange, routing_key, protocol."""
    parsed = {"task": None, "id": None, "eta": None, "delivery_tag": None, "priority": None,
              "exchange": None, "routing_key": None, "protocol": None}
    if not isinstance(payload, dict):
        return parsed
    headers = _mapping(payload.get("headers"))
    properties = _mapping(payload.get("properties"))
    delivery = _mapping(properties.get("delivery_info"))
    parsed["delivery_tag"] = _scalar(properties.get("delivery_tag"))
    parsed["priority"] = properties.get("priority") if isinstance(properties.get("priority"), int) else None
    parsed["exchange"] = delivery.get("exchange") if isinstance(delivery.get("exchange"), str) else None
    parsed["routing_key"] = delivery.get("routing_key") if isinstance(delivery.get("routing_key"), str) else None
    task = headers.get("task")
    if isinstance(task, str) and task:
        parsed.update(task=task, id=_scalar(headers.get("id")), eta=_scalar(headers.get("eta")), protocol=2)
        return parsed
    body = _body(payload)
    if isinstance(body, dict) and isinstance(body.get("task"), str) and body["task"]:
        parsed.update(task=body["task"], id=_scalar(body.get("id")), eta=_scalar(body.get("eta")), protocol=1)
    return parsed


def _json(raw):
    # type: (Any) -> Any
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            return None
    if not isinstance(raw, str):
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def parse_message(raw):
    # type: (Any) -> Dict[str, Any]
    """One list element (bytes) parsed; task None when it cannot be read."""
    return parse_payload(_json(raw))


def parse_unacked(raw):
    # type: (Any) -> Optional[Dict[str, Any]]
    """One value of the ``unacked`` hash (JSON ``[message, exchange, routing_key]``) parsed, with the
    message itself as ``payload``; None when it is not of that shape (the queue cannot be told)."""
    value = _json(raw)
    if not isinstance(value, list) or len(value) < 3 or not isinstance(value[2], str):
        return None
    parsed = parse_payload(value[0])
    parsed["payload"] = value[0]
    parsed["exchange"] = value[1] if isinstance(value[1], str) else parsed["exchange"]
    parsed["routing_key"] = value[2]
    return parsed


def is_known(task, known):
    # type: (Optional[str], Optional[Iterable[str]]) -> bool
    """Whether the target code runs this task: Celery's own (``celery.*``) always, unreadable never."""
    if task is None:
        return False
    if task.startswith("celery."):
        return True
    return known is not None and task in known


def task_label(task):
    # type: (Optional[str]) -> str
    return UNREADABLE if task is None else task


def summary(tasks, known):
    # type: (Iterable[Optional[str]], Optional[Iterable[str]]) -> Dict[str, Any]
    """{messages, unknown, tasks: {name: count}} of messages' task names; unknown null without a known list."""
    counts = {}  # type: Dict[str, int]
    messages = unknown = 0
    for task in tasks:
        messages += 1
        label = task_label(task)
        counts[label] = counts.get(label, 0) + 1
        if not is_known(task, known):
            unknown += 1
    return {"messages": messages, "unknown": unknown if known is not None else None,
            "tasks": dict(sorted(counts.items()))}


# --- the save file ------------------------------------------------------------------------

def save_entry(queue, source, raw, parsed):
    # type: (str, str, bytes, Dict[str, Any]) -> Dict[str, Any]
    """The line of one removed message: queue (list key), source, delivery_tag, task, id, eta, raw.

    ``raw`` is the exact value stored in redis as text, or ``raw_b64`` when it is not UTF-8. For an
    unacked message it is the hash's value (``[message, exchange, routing_key]``) and ``queue`` is the
    list kombu would push it back to (the list of its routing key).
    """
    entry = {"queue": queue, "source": source, "delivery_tag": parsed.get("delivery_tag"),
             "task": parsed.get("task"), "id": parsed.get("id"), "eta": parsed.get("eta")}
    try:
        entry["raw"] = raw.decode("utf-8")
    except UnicodeDecodeError:
        entry["raw_b64"] = base64.b64encode(raw).decode("ascii")
    return entry


def serialize(entries):
    # type: (Iterable[Dict[str, Any]]) -> bytes
    """JSON lines, keys sorted, ASCII (every other character escaped: no reader splits a line)."""
    return b"".join((json.dumps(entry, sort_keys=True) + "\n").encode("ascii") for entry in entries)


def raw_of(entry):
    # type: (Dict[str, Any]) -> bytes
    """The exact value a saved line holds."""
    if isinstance(entry.get("raw"), str):
        return entry["raw"].encode("utf-8")
    return base64.b64decode(entry["raw_b64"].encode("ascii"), validate=True)


def requeue_value(entry):
    # type: (Dict[str, Any]) -> bytes
    """What goes back to the list: the message itself (for an unacked one, the first item of its value)."""
    raw = raw_of(entry)
    if entry["source"] == "list":
        return raw
    value = _json(raw)
    if not isinstance(value, list) or not value or not isinstance(value[0], dict):
        raise ValueError("the unacked value is not [message, exchange, routing_key]")
    # kombu's own json.dumps, as it writes a message; the worker reads it the same either way.
    return json.dumps(value[0]).encode("utf-8")


def read_saved(path):
    # type: (str) -> List[Dict[str, Any]]
    """Every line of a save file, checked (queue, source, raw or raw_b64) before anything is pushed."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            raise SaveFileError("there is no file %s to requeue from%s" % (path, _requeued_hint(path)))
        if exc.errno == errno.ELOOP:
            raise SaveFileError("refusing to read %s: it is a symbolic link; pass the real file" % path)
        raise SaveFileError("cannot read %s: %s; run the task with become: true" % (path, exc.strerror or exc))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise SaveFileError("%s is not a regular file: pass the file celery_queues wrote (save_to)" % path)
        chunks = []
        while True:
            chunk = os.read(fd, 1024 * 1024)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(fd)
    entries = []
    for number, line in enumerate(b"".join(chunks).splitlines(), 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise SaveFileError("line %d of %s is not JSON (a cut write?); nothing was requeued: fix or remove "
                                "that line and run again" % (number, path))
        problem = _entry_problem(entry)
        if problem:
            raise SaveFileError("line %d of %s is not a line celery_queues writes (%s); nothing was requeued"
                                % (number, path, problem))
        entries.append(entry)
    return entries


def _entry_problem(entry):
    # type: (Any) -> Optional[str]
    if not isinstance(entry, dict):
        return "not an object"
    if not isinstance(entry.get("queue"), str) or not entry["queue"]:
        return "no queue"
    if entry.get("source") not in SOURCES:
        return "source is not list or unacked"
    if not isinstance(entry.get("raw"), str) and not isinstance(entry.get("raw_b64"), str):
        return "neither raw nor raw_b64"
    try:
        requeue_value(entry)
    except (ValueError, binascii.Error):
        return "its stored value cannot be read back"
    return None


def _requeued_hint(path):
    # type: (str) -> str
    directory, name = os.path.split(path)
    try:
        done = sorted(f for f in os.listdir(directory or ".") if f.startswith(name + ".requeued-"))
    except OSError:
        done = []
    if done:
        return (" (already requeued: %s; requeuing that again would queue its messages twice)"
                % ", ".join(os.path.join(directory, f) for f in done))
    return ""


def append_lines(path, data):
    # type: (str, bytes) -> Dict[str, Any]
    """Append data to the save file and fsync it; {created, tightened_from, warnings}.

    Through ``private_file.append_private``: the directory is created 0700 when missing, the file
    0600 (a symbolic link or anything but a regular file is refused, a wider mode is tightened); a
    line an earlier write left cut is ended first so the new lines stay lines of their own.
    """
    try:
        done = append_private(path, data, "the save file %s (save_to)" % path)
    except PrivateFileError as exc:
        raise SaveFileError("%s; nothing was removed from redis" % exc)
    return {"created": done["created"], "tightened_from": done["tightened_from"], "warnings": done["warnings"]}


def write_new(path, data):
    # type: (str, bytes) -> None
    """Write a new 0600 file (O_EXCL): the lines of a requeue that stopped half-way, to run again."""
    try:
        append_private(path, data, "the save file %s" % path, exclusive=True)
    except PrivateFileError as exc:
        raise SaveFileError(str(exc))
