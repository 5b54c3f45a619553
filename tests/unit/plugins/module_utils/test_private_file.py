"""private_file: the one writer of 0600 files, whole (atomic rename) or appended to.

Its callers' wording is proven in test_rollback_state.py, test_rollback_audit.py, test_celery_queues.py
and test_celery_messages.py; here the writer itself.
"""
from __future__ import annotations

import os
import stat

import pytest

from ansible_collections.runbooks.rollback.plugins.module_utils import private_file as pf


def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture
def umask():
    """Set a umask for one test, the old one back after."""
    old = os.umask(0o022)
    os.umask(old)
    yield os.umask
    os.umask(old)


# --- append -------------------------------------------------------------------------------

def test_append_creates_the_file_0600_in_a_new_0700_directory(tmp_path, umask):
    umask(0o000)  # the mode given at creation is 0600, not what the umask leaves
    path = tmp_path / "new" / "deeper" / "log.jsonl"
    done = pf.append_private(str(path), b'{"a": 1}\n')
    assert done == {"created": True, "tightened_from": None, "ended_cut_line": False, "warnings": []}
    assert path.read_bytes() == b'{"a": 1}\n'
    assert mode(path) == 0o600 and mode(path.parent) == 0o700


def test_a_new_file_a_narrow_umask_left_unwritable_is_made_0600(tmp_path, umask):
    umask(0o277)
    path = tmp_path / "log.jsonl"
    done = pf.append_private(str(path), b"x\n")
    assert done["created"] and done["tightened_from"] is None and not done["warnings"]
    assert mode(path) == 0o600


def test_append_keeps_the_earlier_content_byte_for_byte(tmp_path):
    path = tmp_path / "log.jsonl"
    pf.append_private(str(path), b'{"a": 1}\n')
    before = path.read_bytes()
    done = pf.append_private(str(path), b'{"a": 2}\n{"a": 3}\n')
    assert not done["created"] and not done["warnings"]
    assert path.read_bytes() == before + b'{"a": 2}\n{"a": 3}\n'


def test_an_existing_0644_file_is_tightened_and_said(tmp_path):
    path = tmp_path / "log.jsonl"
    path.write_bytes(b"old\n")
    os.chmod(path, 0o644)
    done = pf.append_private(str(path), b"new\n", "the log %s" % path)
    assert mode(path) == 0o600 and done["tightened_from"] == "0644" and not done["created"]
    assert done["warnings"] == ["the log %s had mode 0644, readable or writable beyond its owner; it was "
                                "tightened to 0600" % path]
    assert path.read_bytes() == b"old\nnew\n"


def test_a_narrower_mode_than_0600_of_an_existing_file_is_left(tmp_path):
    path = tmp_path / "log.jsonl"
    path.write_bytes(b"old\n")
    os.chmod(path, 0o400)
    if not os.access(str(path), os.W_OK):
        pytest.skip("the file cannot be written by this user once 0400 (not root)")
    done = pf.append_private(str(path), b"new\n")
    assert mode(path) == 0o400 and done["tightened_from"] is None and not done["warnings"]


def test_a_cut_last_line_is_ended_before_the_new_lines(tmp_path):
    path = tmp_path / "log.jsonl"
    path.write_bytes(b'{"a": 1}\n{"cu')
    os.chmod(path, 0o600)
    done = pf.append_private(str(path), b'{"b": 2}\n')
    assert path.read_bytes() == b'{"a": 1}\n{"cu\n{"b": 2}\n'
    assert done["ended_cut_line"] and len(done["warnings"]) == 1 and "was cut, not terminated" in done["warnings"][0]


@pytest.mark.parametrize("dangling", [False, True])
def test_a_symlink_at_the_path_is_refused_and_its_target_untouched(tmp_path, dangling):
    target = tmp_path / "elsewhere"
    if not dangling:
        target.write_bytes(b"not the log\n")
        os.chmod(target, 0o644)
    link = tmp_path / "log.jsonl"
    link.symlink_to(target)
    for check_mode in (False, True):
        with pytest.raises(pf.PrivateFileError, match="%s: it is a symbolic link \\(to %s\\)" % (link, target)):
            pf.append_private(str(link), b"x\n", check_mode=check_mode)
    if dangling:
        assert not target.exists(), "the link was followed: its target was created"
    else:
        assert target.read_bytes() == b"not the log\n" and mode(target) == 0o644
    assert os.path.islink(link)


def test_a_symlink_put_there_after_the_check_is_refused_by_o_nofollow(tmp_path, monkeypatch):
    target = tmp_path / "elsewhere"
    target.write_bytes(b"x\n")
    link = tmp_path / "log.jsonl"
    monkeypatch.setattr(pf, "_inspect", lambda *args: None)  # the race: nothing there at the check
    link.symlink_to(target)
    with pytest.raises(pf.PrivateFileError, match="it is a symbolic link"):
        pf.append_private(str(link), b"y\n")
    assert target.read_bytes() == b"x\n"


@pytest.mark.parametrize("make", [os.mkdir, os.mkfifo], ids=["directory", "fifo"])
@pytest.mark.parametrize("raced", [False, True], ids=["at-the-check", "after-the-check"])
def test_a_directory_or_fifo_at_the_path_is_refused_without_hanging(tmp_path, monkeypatch, make, raced):
    path = tmp_path / "log.jsonl"
    make(str(path))
    if raced:
        monkeypatch.setattr(pf, "_inspect", lambda *args: None)
        # The open refuses a directory (EISDIR); a FIFO opens without a reader (O_RDWR|O_NONBLOCK) and fstat refuses it.
        expected = "is not a regular file|Is a directory"
    else:
        expected = "it is not a regular file; move it away"
    with pytest.raises(pf.PrivateFileError, match=expected):
        pf.append_private(str(path), b"x\n")
    assert stat.S_ISDIR(os.lstat(path).st_mode) or stat.S_ISFIFO(os.lstat(path).st_mode)


def test_check_mode_changes_nothing_and_says_what_would_be_done(tmp_path):
    missing = tmp_path / "new" / "log.jsonl"
    assert pf.append_private(str(missing), b"x\n", check_mode=True)["created"]
    assert not missing.parent.exists()
    path = tmp_path / "log.jsonl"
    path.write_bytes(b"cut")
    os.chmod(path, 0o640)
    done = pf.append_private(str(path), b"x\n", check_mode=True)
    assert done["tightened_from"] == "0640" and done["ended_cut_line"] and not done["created"]
    assert "it would be tightened to 0600" in done["warnings"][0] and "would be added" in done["warnings"][1]
    assert path.read_bytes() == b"cut" and mode(path) == 0o640


def test_exclusive_creates_only_a_new_file(tmp_path):
    path = tmp_path / "rest.jsonl"
    assert pf.append_private(str(path), b"a\n", exclusive=True)["created"]
    assert path.read_bytes() == b"a\n" and mode(path) == 0o600
    with pytest.raises(pf.PrivateFileError, match="refusing to create .*: it exists already"):
        pf.append_private(str(path), b"b\n", exclusive=True)
    assert path.read_bytes() == b"a\n"


def test_exclusive_refuses_a_file_made_after_the_check(tmp_path, monkeypatch):
    path = tmp_path / "rest.jsonl"
    path.write_bytes(b"a concurrent run's lines\n")
    monkeypatch.setattr(pf, "_inspect", lambda *args: None)
    with pytest.raises(pf.PrivateFileError, match="it exists already"):
        pf.append_private(str(path), b"b\n", exclusive=True)
    assert path.read_bytes() == b"a concurrent run's lines\n"


def test_a_directory_that_cannot_be_created_is_named(tmp_path):
    (tmp_path / "file").write_bytes(b"")
    path = tmp_path / "file" / "sub" / "log.jsonl"
    with pytest.raises(pf.PrivateFileError, match="cannot create the directory %s of" % path.parent):
        pf.append_private(str(path), b"x\n")


# --- whole files --------------------------------------------------------------------------

def leftovers(directory):
    return sorted(name for name in os.listdir(str(directory)) if name.startswith("."))


def test_write_atomic_writes_0600_and_replaces_a_wider_file(tmp_path, umask):
    umask(0o000)
    path = tmp_path / "out.json"
    path.write_bytes(b"old")
    os.chmod(path, 0o644)
    pf.write_atomic(str(path), "new \u00e9\n")
    assert path.read_bytes() == "new \u00e9\n".encode("utf-8") and mode(path) == 0o600
    assert leftovers(tmp_path) == []


def test_an_exception_while_writing_leaves_no_temporary_file_and_the_old_file_whole(tmp_path, monkeypatch):
    path = tmp_path / "out.json"
    path.write_bytes(b"old\n")

    def failing_rename(source, target):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pf.os, "rename", failing_rename)
    with pytest.raises(OSError, match="No space left"):
        pf.write_atomic(str(path), b"new\n", prefix=".state-")
    monkeypatch.undo()
    assert path.read_bytes() == b"old\n" and leftovers(tmp_path) == []


def test_an_interrupt_while_syncing_is_cleaned_up_too(tmp_path, monkeypatch):
    def interrupted(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(pf.os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        pf.write_atomic(str(tmp_path / "out.json"), b"half")
    monkeypatch.undo()
    assert os.listdir(str(tmp_path)) == []


def test_abort_removes_the_temporary_file_and_nothing_appears_under_the_name(tmp_path):
    path = tmp_path / "out.csv"
    out = pf.AtomicFile(str(path))
    out.write(b"a,b\n")
    assert leftovers(tmp_path) == [os.path.basename(out.tmp)] and mode(out.tmp) == 0o600
    out.abort()
    assert os.listdir(str(tmp_path)) == []


def test_the_file_never_exists_half_written_under_its_name(tmp_path):
    path = tmp_path / "out.csv"
    path.write_bytes(b"old,whole\n")
    out = pf.AtomicFile(str(path))
    for row in (b"a,b\n", b"c,d\n"):
        out.write(row)
        out.handle.flush()  # what was written is on the temporary file, not under the name
        assert path.read_bytes() == b"old,whole\n"
    out.commit(sync=True)
    assert path.read_bytes() == b"a,b\nc,d\n" and (out.size, out.lines) == (8, 2)
    assert leftovers(tmp_path) == []


def test_private_directory_is_0700_and_leaves_an_existing_one(tmp_path, umask):
    umask(0o000)
    pf.private_directory(str(tmp_path / "new"))
    assert mode(tmp_path / "new") == 0o700
    os.chmod(tmp_path / "new", 0o750)
    pf.private_directory(str(tmp_path / "new"))
    assert mode(tmp_path / "new") == 0o750
