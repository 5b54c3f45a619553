# -*- coding: utf-8 -*-
# Copyright: (c) 2026, runbooks.rollback developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Files that appear whole or not at all: written under a temporary name, renamed on success,
with the sha256, size and line count of what was written kept on the way; and the two helpers
the append-only files (the audit log, the saved Celery messages) share."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import hashlib
import os
import tempfile


class AtomicFile(object):
    """A 0600 file written under a temporary name and renamed into place on success."""

    def __init__(self, path):
        self.path = path
        fd, self.tmp = tempfile.mkstemp(prefix=".tmp-", dir=os.path.dirname(path))
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


def ends_with_newline(path, size):
    # type: (str, int) -> bool
    """Whether the file of this size ends a line (an empty file does): an earlier write was not cut."""
    if size == 0:
        return True
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        return os.pread(fd, 1, size - 1) == b"\n"
    finally:
        os.close(fd)


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
