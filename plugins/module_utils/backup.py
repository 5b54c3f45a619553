# -*- coding: utf-8 -*-
# Copyright: (c) 2026, runbooks.rollback developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Find and verify PostgreSQL backups (pg_dump output) without restoring them.

Formats: plain SQL (optionally gzip), custom (``PGDMP`` magic), tar (ustar with
``toc.dat``) and directory (``toc.dat`` inside).  Plain dumps must start with the
pg_dump header and end with the "dump complete" trailer: an uncompressed one is read
only at its head and its tail, a gzip one is decompressed to its end (the trailer is
there, and the gzip CRC catches a damaged stream).  The others must be listable by
``pg_restore --list`` and, by default, readable to their end.  Memory does not grow
with the size of the backup.
"""

from __future__ import absolute_import, division, print_function, annotations
__metaclass__ = type

import datetime
import fnmatch
import glob
import gzip
import hashlib
import os
import shutil
import subprocess
import zlib
from typing import Any, Dict, Iterable, Iterator, List, Optional, Tuple

from ansible_collections.runbooks.rollback.plugins.module_utils.timeutil import isoformat

PLAIN_HEADER = b"-- PostgreSQL database dump"
PLAIN_TRAILER = b"-- PostgreSQL database dump complete"
HEAD_BYTES = 8192
TAIL_BYTES = 8192
CHUNK = 1024 * 1024


class BackupError(Exception):
    """The backup cannot be used; the message names the file and the fix.

    ``details`` holds result fields worth returning with the failure (e.g. the
    candidates considered in a backup directory).
    """

    def __init__(self, message: str, details: Optional[Dict[str, Any]] = None) -> None:
        super(BackupError, self).__init__(message)
        self.details = details or {}


def _fix(path: str) -> str:
    return "take a new dump or pass path= to another backup (%s)" % path


def detect(path: str) -> Tuple[str, str]:
    """Return (format, compression) of a backup path, or raise BackupError."""
    if os.path.isdir(path):
        if os.path.isfile(os.path.join(path, "toc.dat")):
            return "directory", "none"
        raise BackupError("backup %s is a directory without toc.dat: not a pg_dump directory-format "
                          "backup; %s" % (path, _fix(path)))
    if not os.path.exists(path):
        raise BackupError("backup %s does not exist; check the path or pass backup_dir= to search" % path)
    if not os.path.isfile(path):
        raise BackupError("backup %s is not a regular file" % path)
    try:
        with open(path, "rb") as handle:
            head = handle.read(HEAD_BYTES)
    except (IOError, OSError) as exc:
        raise BackupError("backup %s cannot be read: %s" % (path, exc))
    if not head:
        raise BackupError("backup %s is empty (0 bytes); %s" % (path, _fix(path)))
    if head.startswith(b"\x1f\x8b"):
        return "plain", "gzip"
    if head.startswith(b"PGDMP"):
        return "custom", "none"
    if len(head) >= 512 and head[257:262] == b"ustar" and b"toc.dat" in head[:100]:
        return "tar", "none"
    if PLAIN_HEADER in head:
        return "plain", "none"
    raise BackupError("backup %s is not a pg_dump backup: no plain-SQL header %r and no custom/tar/"
                      "directory format signature; %s" % (path, PLAIN_HEADER.decode(), _fix(path)))


def _stream_head_and_tail(chunks: Iterable[bytes]) -> Tuple[bytes, bytes]:
    """First HEAD_BYTES and last TAIL_BYTES of a stream read to its end."""
    head = b""
    tail = b""
    for chunk in chunks:
        if len(head) < HEAD_BYTES:
            head += chunk[:HEAD_BYTES - len(head)]
        tail = (tail + chunk)[-TAIL_BYTES:]
    return head, tail


def _file_head_and_tail(path: str) -> Tuple[bytes, bytes]:
    """First HEAD_BYTES and last TAIL_BYTES of a file, without reading what lies between."""
    with open(path, "rb") as handle:
        head = handle.read(HEAD_BYTES)
        size = os.fstat(handle.fileno()).st_size
        handle.seek(max(0, size - TAIL_BYTES))
        tail = handle.read(TAIL_BYTES)
    return head, tail


def _check_plain(path: str, head: bytes, tail: bytes) -> None:
    if PLAIN_HEADER not in head:
        raise BackupError("backup %s has no pg_dump header (%r) at its start; %s"
                          % (path, PLAIN_HEADER.decode(), _fix(path)))
    if PLAIN_TRAILER not in tail:
        raise BackupError("backup %s is truncated: no '%s' trailer; %s"
                          % (path, PLAIN_TRAILER.decode()[3:], _fix(path)))


def _file_chunks(path: str) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        while True:
            chunk = handle.read(CHUNK)
            if not chunk:
                return
            yield chunk


def _gzip_chunks(path: str) -> Iterator[bytes]:
    try:
        with gzip.open(path, "rb") as handle:
            while True:
                chunk = handle.read(CHUNK)
                if not chunk:
                    return
                yield chunk
    except (EOFError, zlib.error, OSError) as exc:  # OSError covers gzip.BadGzipFile
        raise BackupError("backup %s is a damaged gzip stream (%s): the file is truncated or corrupt; %s"
                          % (path, exc, _fix(path)))


def find_pg_restore(explicit: Optional[str] = None) -> str:
    if explicit:
        if not os.access(explicit, os.X_OK):
            raise BackupError("pg_restore_path %s is not an executable" % explicit)
        return explicit
    found = shutil.which("pg_restore")
    if found:
        return found
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_restore"), reverse=True):
        if os.access(candidate, os.X_OK):
            return candidate
    raise BackupError("pg_restore not found on PATH nor in /usr/lib/postgresql/*/bin: install the "
                      "PostgreSQL client (postgresql-client) or pass pg_restore_path")


def list_archive(path: str, pg_restore: str) -> int:
    """Run pg_restore --list; return the number of TOC entries."""
    proc = subprocess.run([pg_restore, "--list", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          check=False)
    if proc.returncode != 0:
        raise BackupError("backup %s is corrupt or unreadable: pg_restore --list failed (exit %d): %s; %s"
                          % (path, proc.returncode, proc.stderr.decode("utf-8", "replace").strip(), _fix(path)))
    return sum(1 for line in proc.stdout.decode("utf-8", "replace").splitlines()
               if line.strip() and not line.startswith(";"))


def read_archive_data(path: str, pg_restore: str) -> None:
    """Read every data block of a custom/tar/directory archive (restore into /dev/null).

    ``pg_restore --list`` reads only the table of contents: a dump cut in its data
    section lists fine and fails halfway through the real restore.  This catches it
    without a database, at the cost of one sequential read of the file.
    """
    proc = subprocess.run([pg_restore, "--file", os.devnull, path], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, check=False)
    if proc.returncode != 0:
        detail = proc.stderr.decode("utf-8", "replace").strip()
        raise BackupError("backup %s is truncated or corrupt in its data: pg_restore could not read it to the "
                          "end (exit %d): %s; %s" % (path, proc.returncode, detail, _fix(path)))


def sha256_of(path: str) -> str:
    digest = hashlib.sha256()
    for chunk in _file_chunks(path):
        digest.update(chunk)
    return digest.hexdigest()


def size_of(path: str) -> int:
    if os.path.isdir(path):
        return sum(os.path.getsize(os.path.join(root, name))
                   for root, _dirs, names in os.walk(path) for name in names)
    return os.path.getsize(path)


def verify(path: str, pg_restore_path: Optional[str] = None, verify_data: bool = True) -> Dict[str, Any]:
    """Verify a backup; return a dict with format, compression, size_bytes, toc_entries, data_verified.

    Plain SQL: header and trailer (pg_dump writes the trailer last, so it proves the dump
    ran to completion); an uncompressed file is read only at its head and tail, a gzip
    stream is decompressed to its end.  Archives are listed, and with ``verify_data`` read
    to the end as well.
    """
    fmt, compression = detect(path)
    toc_entries = None
    if fmt == "plain":
        if compression == "gzip":
            head, tail = _stream_head_and_tail(_gzip_chunks(path))
        else:
            head, tail = _file_head_and_tail(path)
        _check_plain(path, head, tail)
    else:
        pg_restore = find_pg_restore(pg_restore_path)
        toc_entries = list_archive(path, pg_restore)
        if verify_data:
            read_archive_data(path, pg_restore)
    return {"format": fmt, "compression": compression, "size_bytes": size_of(path),
            "toc_entries": toc_entries, "data_verified": fmt == "plain" or bool(verify_data)}


def mtime_utc(path: str) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(os.stat(path).st_mtime, tz=datetime.timezone.utc)


def candidates(backup_dir: str, pattern: str) -> List[Tuple[str, datetime.datetime]]:
    """Backups in backup_dir matching pattern, newest first: list of (path, mtime)."""
    if not os.path.isdir(backup_dir):
        raise BackupError("backup_dir %s is not a directory; check the path (the runbook's default "
                          "is /backups/postgresql)" % backup_dir)
    found = []
    for name in os.listdir(backup_dir):
        if name.startswith(".") or not fnmatch.fnmatch(name, pattern):
            continue
        full = os.path.join(backup_dir, name)
        found.append((full, mtime_utc(full)))
    found.sort(key=lambda item: item[1], reverse=True)
    return found


def choose(backup_dir: str, pattern: str, deployed_at: Optional[datetime.datetime] = None,
           pg_restore_path: Optional[str] = None, verify_data: bool = True
           ) -> Tuple[str, Dict[str, Any], List[Dict[str, Any]]]:
    """Pick the newest verified backup older than deployed_at.

    Returns (path, verification, considered): ``verification`` is verify()'s result for
    the chosen backup (it is not read a second time); ``considered`` lists
    {path, created_at, rejected} dicts, newest first.
    """
    considered: List[Dict[str, Any]] = []
    chosen = None
    verification: Dict[str, Any] = {}
    for path, created in candidates(backup_dir, pattern):
        entry: Dict[str, Any] = {"path": path, "created_at": isoformat(created), "rejected": None}
        considered.append(entry)
        if chosen is not None:
            entry["rejected"] = "older than the chosen backup"
            continue
        if deployed_at is not None and created >= deployed_at:
            entry["rejected"] = "taken after the deployment"
            continue
        try:
            verification = verify(path, pg_restore_path, verify_data)
        except BackupError as exc:
            entry["rejected"] = str(exc)
            continue
        chosen = path
    if chosen is None:
        if not considered:
            raise BackupError("no backup matching %r in %s; check backup_dir and pattern (hidden files are "
                              "ignored)" % (pattern, backup_dir), {"candidates": considered})
        raise BackupError("no usable backup in %s%s: %s; pass path= to a verified backup or take a new dump"
                          % (backup_dir, " older than the deployment" if deployed_at is not None else "",
                             "; ".join("%s: %s" % (c["path"], c["rejected"]) for c in considered)),
                          {"candidates": considered})
    return chosen, verification, considered
