"""celery_messages, the pure part: keys, parsing what cannot be read, counts, the save file's lines.

The parser against real Celery/kombu messages is proven in tests/unit/plugins/modules/test_celery_queues.py.
"""
from __future__ import annotations

import base64
import json
import os
import stat

import pytest

from ansible_collections.runbooks.rollback.plugins.module_utils import celery_messages as cm


def message(headers=None, body=None, **properties):
    props = {"delivery_info": {"exchange": "", "routing_key": "celery"}, "priority": 0,
             "body_encoding": "base64", "delivery_tag": "tag-1"}
    props.update(properties)
    return {"body": base64.b64encode(json.dumps(body if body is not None else [[], {}, {}]).encode()).decode(),
            "content-encoding": "utf-8", "content-type": "application/json", "headers": headers or {},
            "properties": props}


def test_priority_keys_as_kombu_names_them():
    assert cm.queue_keys("celery")[:3] == [("celery", 0), ("celery\x06\x161", 1), ("celery\x06\x162", 2)]
    assert len(cm.queue_keys("celery")) == 10
    assert cm.queue_keys("q", prefix="app:")[9] == ("app:q\x06\x169", 9)
    assert cm.readable_key("celery\x06\x163") == "celery (priority 3)"
    assert cm.readable_key("celery") == "celery"


@pytest.mark.parametrize("raw", [b"not json", b"\xff\xfe", b"[1, 2]", b'{"headers": {"task": 5}}',
                                 json.dumps(message(body={"no": "task"})).encode(),
                                 json.dumps(dict(message(), **{"content-type": "application/x-python-serialize"})).encode()])
def test_what_cannot_be_read_has_no_task(raw):
    assert cm.parse_message(raw)["task"] is None


def test_protocol_one_and_two():
    two = cm.parse_message(json.dumps(message({"task": "a.b", "id": "i2", "eta": "2026-11-24T10:00:00+00:00"})))
    assert (two["task"], two["id"], two["eta"], two["protocol"], two["delivery_tag"]) == (
        "a.b", "i2", "2026-11-24T10:00:00+00:00", 2, "tag-1")
    one = cm.parse_message(json.dumps(message(body={"task": "old.t", "id": "i1", "eta": None})).encode())
    assert (one["task"], one["id"], one["protocol"], one["routing_key"]) == ("old.t", "i1", 1, "celery")


def test_unacked_values_give_the_routing_key():
    parsed = cm.parse_unacked(json.dumps([message({"task": "a.b"}), "", "emails"]).encode())
    assert parsed["routing_key"] == "emails" and parsed["task"] == "a.b"
    assert cm.parse_unacked(b'{"not": "a list"}') is None and cm.parse_unacked(b"[1]") is None


def test_known_tasks_celerys_own_and_the_unreadable():
    assert cm.is_known("celery.backend_cleanup", set()) and cm.is_known("a", {"a"})
    assert not cm.is_known(None, {"a"}) and not cm.is_known("b", {"a"}) and not cm.is_known("b", None)
    assert cm.summary(["a", None, "b", "a"], {"a"}) == {
        "messages": 4, "unknown": 2, "tasks": {"(unreadable)": 1, "a": 2, "b": 1}}
    assert cm.summary(["a"], None)["unknown"] is None


def test_save_lines_round_trip_any_bytes():
    utf8 = json.dumps(message({"task": "a.b", "id": "i"})).encode() + "\u2028\u00e9".encode()
    binary = b"\x00\xff\xfe"
    entries = [cm.save_entry("celery\x06\x163", "list", utf8, cm.parse_message(utf8)),
               cm.save_entry("celery", "list", binary, cm.parse_message(binary))]
    data = cm.serialize(entries)
    assert data.count(b"\n") == 2 and data.isascii()
    lines = [json.loads(line) for line in data.splitlines()]
    assert "raw" in lines[0] and "raw_b64" in lines[1] and lines[0]["queue"] == "celery\x06\x163"
    assert [cm.raw_of(line) for line in lines] == [utf8, binary]
    assert [cm.requeue_value(line) for line in lines] == [utf8, binary]


def test_the_save_file_is_0600_in_a_0700_directory_and_refuses_links(tmp_path):
    path = tmp_path / "new" / "removed.jsonl"
    written = cm.append_lines(str(path), b'{"a": 1}\n')
    assert written["created"] and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    cm.append_lines(str(path), b'{"a": 2}\n')
    assert path.read_bytes() == b'{"a": 1}\n{"a": 2}\n'
    link = tmp_path / "link.jsonl"
    link.symlink_to(path)
    with pytest.raises(cm.SaveFileError, match="symbolic link"):
        cm.append_lines(str(link), b"x\n")
    with pytest.raises(cm.SaveFileError, match="symbolic link"):
        cm.read_saved(str(link))


def test_read_saved_checks_every_line_first(tmp_path):
    path = tmp_path / "removed.jsonl"
    good = cm.serialize([cm.save_entry("celery", "list", b"{}", {})])
    path.write_bytes(good + b'{"queue": "celery", "source": "list"}\n')
    with pytest.raises(cm.SaveFileError, match=r"line 2 .* \(neither raw nor raw_b64\)"):
        cm.read_saved(str(path))
    path.write_bytes(good + b"{cut")
    with pytest.raises(cm.SaveFileError, match="line 2 .* not JSON"):
        cm.read_saved(str(path))
    path.write_bytes(good + b"\n")
    assert len(cm.read_saved(str(path))) == 1
