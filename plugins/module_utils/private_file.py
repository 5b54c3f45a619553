# -*- coding: utf-8 -*-
# Copyright: (c) 2026, runbooks.rollback developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private (0600) files, the two ways the modules write them.

- Whole or not at all: ``AtomicFile`` (or ``write_atomic`` for data at hand) writes under a
  temporary name in the same directory and renames into place on success, keeping the sha256,
  size and line count of what was written; the file never exists half-written under its name.
- Appended to: ``append_private`` adds lines to a log (the audit log, the saved Celery messages)
  without touching what is there: a symbolic link or anything but a regular file is refused, a
  mode wider than 0600 is tightened (and said), a last line an earlier write left cut is ended
  first, the directory is created 0700 when missing, the data is synced.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import errno
import hashlib
import os
import stat
import tempfile
from typing import Any, Dict, Optional, Tuple

_APPEND_FLAGS = (os.O_RDWR | os.O_APPEND | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
                 # A FIFO put at the path must be refused, not hang the run.
                 | getattr(os, "O_NONBLOCK", 0))


class PrivateFileError(Exception):
    """A private file cannot be appended to or created; the message names it and what to do."""


class AtomicFile(object):
    """A 0600 file written under a temporary name and renamed into place on success."""

    def __init__(self, path, prefix=".tmp-"):
        self.path = path
        fd, self.tmp = tempfile.mkstemp(prefix=prefix, dir=os.path.dirname(path))
        os.fchmod(fd, 0o600)
        self.handle = os.fdopen(fd, "wb")
        self.digest = hashlib.sha256()
        self.size = 0
        self.lines = 0

    def write(self, data):
        if not isinstance(data, bytes):
            data = data.encode("utf-8")
        self.handle.write(data)
        self.digest.update(data)
        self.size += len(data)
        self.lines += data.count(b"\n")

    def commit(self, sync=False):
        """Rename into place; with sync, the data is on disk first and the new name after."""
        if sync:
            self.handle.flush()
            os.fsync(self.handle.fileno())
        self.handle.close()
        os.rename(self.tmp, self.path)
        if sync:
            sync_directory(os.path.dirname(self.path))

    def abort(self):
        self.handle.close()
        if os.path.exists(self.tmp):
            os.unlink(self.tmp)


def write_atomic(path, data, sync=True, prefix=".tmp-"):
    # type: (str, object, bool, str) -> None
    """Write data (bytes, or text as UTF-8) as the whole 0600 file at path: the old file or the new
    one, never a part; the temporary file is removed whatever interrupts the write."""
    out = AtomicFile(path, prefix=prefix)
    try:
        out.write(data)
        out.commit(sync=sync)
    except BaseException:
        out.abort()
        raise


def private_directory(directory):
    # type: (str) -> None
    """Create directory 0700 when it is missing (an existing one is left as it is)."""
    if not os.path.isdir(directory):
        os.makedirs(directory, mode=0o700)


def sync_directory(directory):
    # type: (str) -> None
    """Make a new or renamed file's name durable; best effort (some file systems refuse)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# --- appending ----------------------------------------------------------------------------

def _why(exc):
    # type: (OSError) -> str
    return exc.strerror or str(exc)


def _refuse_link(path, name, verb):
    # type: (str, str, str) -> None
    try:
        target = os.readlink(path)
    except OSError:
        target = "?"
    raise PrivateFileError("refusing to %s %s: it is a symbolic link (to %s), which could send the data to "
                           "another file; replace the link with the real file or pass its real path"
                           % (verb, name, target))


def _refuse_irregular(name, verb):
    # type: (str, str) -> None
    raise PrivateFileError("refusing to %s %s: it is not a regular file; move it away (the file is created "
                           "when missing) or pass another path" % (verb, name))


def _refuse_existing(name):
    # type: (str) -> None
    raise PrivateFileError("refusing to create %s: it exists already (written meanwhile?); move it away or "
                           "pass another path" % name)


def _inspect(path, name, verb):
    # type: (str, str, str) -> Optional[os.stat_result]
    """The lstat of what is at path, None when nothing is; refuses a link and anything not a regular file."""
    try:
        info = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None  # the directory is made (or refused) next
    except OSError as exc:
        raise PrivateFileError("cannot read %s: %s; check the directory's owner and mode (the user running "
                               "the playbook, become: true)" % (name, _why(exc)))
    if stat.S_ISLNK(info.st_mode):
        _refuse_link(path, name, verb)
    if not stat.S_ISREG(info.st_mode):
        _refuse_irregular(name, verb)
    return info


def _open(path, name, verb, exclusive):
    # type: (str, str, str, bool) -> Tuple[int, bool]
    """(fd, created): created is whether this call made the file (O_EXCL), so it is exact."""
    try:
        try:
            return os.open(path, _APPEND_FLAGS | os.O_CREAT | os.O_EXCL, 0o600), True
        except FileExistsError:
            if exclusive:
                _refuse_existing(name)
        return os.open(path, _APPEND_FLAGS), False
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            _refuse_link(path, name, verb)
        raise PrivateFileError("cannot open %s to %s it: %s; check its owner and mode (0600, the user running "
                               "the playbook) and the directory's" % (name, verb, _why(exc)))


def _ends_line(fd, size):
    # type: (int, int) -> bool
    """Whether the file of this size ends a line (an empty one does): no earlier write was cut."""
    return size == 0 or os.pread(fd, 1, size - 1) == b"\n"


def _mode_warning(name, mode, check_mode):
    # type: (str, int, bool) -> str
    return ("%s had mode %04o, readable or writable beyond its owner; %s to 0600"
            % (name, mode, "it would be tightened" if check_mode else "it was tightened"))


def _cut_warning(name, check_mode):
    # type: (str, bool) -> str
    return ("the last line of %s was cut, not terminated (an earlier write was interrupted); a newline %s "
            "before the new lines" % (name, "would be added" if check_mode else "was added"))


def _wide(mode):
    # type: (int) -> bool
    return bool(stat.S_IMODE(mode) & ~0o600)


def _cut_at_path(path, name, size):
    # type: (str, str, int) -> bool
    """Whether the last line of the file at path (of this size) is cut; for check mode, which opens nothing to write."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
        try:
            return not _ends_line(fd, size)
        finally:
            os.close(fd)
    except OSError as exc:
        raise PrivateFileError("cannot read %s: %s; check its owner and mode (0600, the user running the "
                               "playbook)" % (name, _why(exc)))


def append_private(path, data, name=None, check_mode=False, exclusive=False):
    # type: (str, bytes, Optional[str], bool, bool) -> Dict[str, Any]
    """Append data (whole lines) to the 0600 file at path, synced; what was done.

    ``name`` says what the file is in messages ("the audit log /var/log/x.jsonl"; default: the path).
    Returns ``created`` (this call made the file), ``tightened_from`` (the wider mode it had, "0644",
    or None), ``ended_cut_line`` (a newline was put before data to end a last line an earlier write
    left cut) and ``warnings`` saying both. With ``check_mode`` the same checks are made and nothing
    is created or changed. With ``exclusive`` the file must not exist yet (O_EXCL). Raises
    PrivateFileError: the path is a symbolic link or not a regular file, or cannot be written.
    """
    name = name or path
    verb = "create" if exclusive else "append to"
    info = _inspect(path, name, verb)
    if exclusive and info is not None:
        _refuse_existing(name)
    result = {"created": info is None, "tightened_from": None, "ended_cut_line": False, "warnings": []}
    if info is not None and _wide(info.st_mode):
        result["tightened_from"] = "%04o" % stat.S_IMODE(info.st_mode)
        result["warnings"].append(_mode_warning(name, stat.S_IMODE(info.st_mode), check_mode))
    if check_mode:
        if info is not None and _cut_at_path(path, name, info.st_size):
            result["ended_cut_line"] = True
            result["warnings"].append(_cut_warning(name, True))
        return result
    directory = os.path.dirname(path) or "."
    try:
        private_directory(directory)
    except OSError as exc:
        raise PrivateFileError("cannot create the directory %s of %s: %s; create it (0700) for the user running "
                               "the playbook or pass another path" % (directory, name, _why(exc)))
    fd, result["created"] = _open(path, name, verb, exclusive)
    try:
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode):
            _refuse_irregular(name, verb)
        mode = stat.S_IMODE(opened.st_mode)
        if mode != 0o600 and (result["created"] or _wide(mode)):
            # A new file: the umask may have narrowed 0600. An old one: the lstat above, or a race.
            if not result["created"] and result["tightened_from"] is None:
                result["tightened_from"] = "%04o" % mode
                result["warnings"].append(_mode_warning(name, mode, False))
            os.fchmod(fd, 0o600)
        if not _ends_line(fd, opened.st_size):
            data = b"\n" + data
            result["ended_cut_line"] = True
            result["warnings"].append(_cut_warning(name, False))
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            if not written:
                raise PrivateFileError("only %d of the %d bytes were written to %s (is the disk full?); free "
                                       "space and run again" % (len(data) - len(view), len(data), name))
            view = view[written:]
        os.fsync(fd)
    except OSError as exc:
        raise PrivateFileError("cannot %s %s: %s; check the free space and the file's owner and mode (0600)"
                               % (verb, name, _why(exc)))
    finally:
        os.close(fd)
    if result["created"]:
        sync_directory(directory)
    return result
