# -*- coding: utf-8 -*-
# Copyright: (c) 2026, runbooks.rollback developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Find and verify PostgreSQL backups (pg_dump output) without restoring them.

Formats: plain SQL (optionally gzip), custom (``PGDMP`` magic), tar (ustar with
``toc.dat``) and directory (``toc.dat`` inside).  Plain dumps must start with the
pg_dump header and end with the "dump complete" trailer; the others must be listable
by ``pg_restore --list``.  Files are streamed: memory does not grow with their size.
"""

from __future__ import absolute_import, division, print_function
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

PLAIN_HEADER = b"-- PostgreSQL database dump"
PLAIN_TRAILER = b"-- PostgreSQL database dump complete"
HEAD_BYTES = 8192
TAIL_BYTES = 8192
CHUNK = 1024 * 1024


class BackupError(Exception):
    """The backup cannot be used; the message names the file and the fix."""


def _fix(path):
    return "take a new dump or pass path= to another backup (%s)" % path


def detect(path):
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


def _check_plain_stream(path, chunks):
    head = b""
    tail = b""
    for chunk in chunks:
        if len(head) < HEAD_BYTES:
            head += chunk[:HEAD_BYTES - len(head)]
        tail = (tail + chunk)[-TAIL_BYTES:]
    if PLAIN_HEADER not in head:
        raise BackupError("backup %s has no pg_dump header (%r) at its start; %s"
                          % (path, PLAIN_HEADER.decode(), _fix(path)))
    if PLAIN_TRAILER not in tail:
        raise BackupError("backup %s is truncated: no '%s' trailer; %s"
                          % (path, PLAIN_TRAILER.decode()[3:], _fix(path)))


def _file_chunks(path):
    with open(path, "rb") as handle:
        while True:
            chunk = handle.read(CHUNK)
            if not chunk:
                return
            yield chunk


def _gzip_chunks(path):
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


def find_pg_restore(explicit=None):
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


def list_archive(path, pg_restore):
    """Run pg_restore --list; return the number of TOC entries."""
    proc = subprocess.run([pg_restore, "--list", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          check=False)
    if proc.returncode != 0:
        raise BackupError("backup %s is corrupt or unreadable: pg_restore --list failed (exit %d): %s; %s"
                          % (path, proc.returncode, proc.stderr.decode("utf-8", "replace").strip(), _fix(path)))
    return sum(1 for line in proc.stdout.decode("utf-8", "replace").splitlines()
               if line.strip() and not line.startswith(";"))


def read_archive_data(path, pg_restore):
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


def sha256_of(path):
    digest = hashlib.sha256()
    for chunk in _file_chunks(path):
        digest.update(chunk)
    return digest.hexdigest()


def size_of(path):
    if os.path.isdir(path):
        return sum(os.path.getsize(os.path.join(root, name))
                   for root, _dirs, names in os.walk(path) for name in names)
    return os.path.getsize(path)


def verify(path, pg_restore_path=None, verify_data=True):
    """Verify a backup; return a dict with format, compression, size_bytes, toc_entries, data_verified.

    Plain SQL is always read whole (header and trailer, gzip stream to its end).  Archives
    are listed, and with ``verify_data`` read to the end as well.
    """
    fmt, compression = detect(path)
    toc_entries = None
    if fmt == "plain":
        _check_plain_stream(path, _gzip_chunks(path) if compression == "gzip" else _file_chunks(path))
    else:
        pg_restore = find_pg_restore(pg_restore_path)
        toc_entries = list_archive(path, pg_restore)
        if verify_data:
            read_archive_data(path, pg_restore)
    return {"format": fmt, "compression": compression, "size_bytes": size_of(path),
            "toc_entries": toc_entries, "data_verified": fmt == "plain" or bool(verify_data)}


def mtime_utc(path):
    return datetime.datetime.fromtimestamp(os.stat(path).st_mtime, tz=datetime.timezone.utc)


def candidates(backup_dir, pattern):
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


def choose(backup_dir, pattern, deployed_at=None, pg_restore_path=None, verify_data=True):
    """Pick the newest verified backup older than deployed_at.

    Returns (path, considered) where considered lists {path, created_at, rejected} dicts.
    """
    considered = []
    chosen = None
    for path, created in candidates(backup_dir, pattern):
        entry = {"path": path, "created_at": created.replace(microsecond=0).isoformat().replace("+00:00", "Z"),
                 "rejected": None}
        considered.append(entry)
        if chosen is not None:
            entry["rejected"] = "older than the chosen backup"
            continue
        if deployed_at is not None and created >= deployed_at:
            entry["rejected"] = "taken after the deployment"
            continue
        try:
            verify(path, pg_restore_path, verify_data)
        except BackupError as exc:
            entry["rejected"] = str(exc)
            continue
        chosen = path
    if chosen is None:
        if not considered:
            raise BackupError("no backup matching %r in %s; check backup_dir and pattern" % (pattern, backup_dir))
        raise BackupError("no usable backup in %s older than the deployment: %s"
                          % (backup_dir, "; ".join("%s: %s" % (c["path"], c["rejected"]) for c in considered)))
    return chosen, considered
