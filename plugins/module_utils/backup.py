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

``read_django_migrations`` reads the rows of the ``django_migrations`` table from a
backup of any of these formats (the COPY block of a plain dump, streamed; the table's
data through ``pg_restore --data-only --table`` for the others).
"""

from __future__ import absolute_import, division, print_function, annotations
__metaclass__ = type

import datetime
import fnmatch
import glob
import gzip
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
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


# --- the django_migrations rows of a backup -------------------------------------------------

# A line of a plain dump is read at most this many bytes at a time: a huge row of another
# table (one COPY line) is skipped piece by piece, never held whole.
LINE_LIMIT = 64 * 1024
_IDENT = rb'(?:"(?:[^"]|"")+"|[^\s".(),;]+)'
_COPY_HEADER = re.compile(rb"^COPY (?:(" + _IDENT + rb")\.)?(" + _IDENT + rb") \((.*)\) FROM stdin;\r?\n?$")
_INSERT = re.compile(rb"^INSERT INTO (?:(" + _IDENT + rb")\.)?(" + _IDENT + rb")[ (]")
_END_OF_DATA = (b"\\.\n", b"\\.\r\n", b"\\.")
_ESCAPES = {ord("b"): b"\b", ord("f"): b"\f", ord("n"): b"\n", ord("r"): b"\r", ord("t"): b"\t",
            ord("v"): b"\v"}
_OCTAL = b"01234567"
_HEX = b"0123456789abcdefABCDEF"


def _unquote_ident(raw: bytes) -> str:
    text = raw.decode("utf-8", "replace")
    if text.startswith('"') and text.endswith('"') and len(text) >= 2:
        return text[1:-1].replace('""', '"')
    return text


def unescape_copy(field: bytes) -> Optional[bytes]:
    """One field of COPY text format, unescaped; None for ``\\N`` (NULL).

    Backslash sequences: ``\\b \\f \\n \\r \\t \\v``, ``\\ooo`` (1 to 3 octal digits),
    ``\\xhh`` (1 or 2 hex digits); any other character after a backslash stands for itself
    (``\\\\`` is a backslash).
    """
    if field == b"\\N":
        return None
    if b"\\" not in field:
        return field
    out = bytearray()
    i, size = 0, len(field)
    while i < size:
        byte = field[i]
        if byte != 0x5C:
            out.append(byte)
            i += 1
            continue
        i += 1
        if i >= size:  # a lone backslash at the end: nothing to escape
            break
        byte = field[i]
        if byte in _OCTAL:
            end = i + 1
            while end < size and end < i + 3 and field[end] in _OCTAL:
                end += 1
            out.append(int(field[i:end], 8) & 0xFF)
            i = end
        elif byte == ord("x") and i + 1 < size and field[i + 1] in _HEX:
            end = i + 2 if i + 2 < size and field[i + 2] in _HEX else i + 1
            out.append(int(field[i + 1:end + 1], 16))
            i = end + 1
        else:
            out += _ESCAPES.get(byte, bytes((byte,)))
            i += 1
    return bytes(out)


def _split_table(table: str) -> Tuple[Optional[str], str]:
    """'django_migrations' -> (None, name); 'public.django_migrations' -> ('public', name)."""
    schema, dot, name = table.rpartition(".")
    if not name:
        raise BackupError("table %r is not a table name (give django_migrations or schema.django_migrations)"
                          % table)
    return (schema if dot else None), name


def _copy_rows(readline, path: str, table: str) -> Optional[List[Tuple[str, str]]]:
    """The (app, name) rows of the first COPY block of ``table`` in a stream of SQL; None without one.

    ``readline(limit)`` returns at most ``limit`` bytes, up to and including a newline. The
    data lines of other tables' COPY blocks are skipped (a data line is never taken for a
    statement), and so is every line piece after the first LINE_LIMIT bytes of a line.
    """
    schema, name = _split_table(table)
    at_line_start = True
    in_other_block = False
    while True:
        piece = readline(LINE_LIMIT)
        if not piece:
            return None
        starts_line = at_line_start
        at_line_start = piece.endswith(b"\n")
        if not starts_line:
            continue
        if in_other_block:
            if piece in _END_OF_DATA:
                in_other_block = False
            continue
        if piece.startswith(b"COPY "):
            header = _COPY_HEADER.match(piece) if at_line_start else None
            if header is None or not _same_table(header.group(1), header.group(2), schema, name):
                in_other_block = piece.rstrip(b"\r\n").endswith(b"FROM stdin;") or not at_line_start
                continue
            return _read_block(readline, path, table, header.group(3))
        if piece.startswith(b"INSERT INTO "):
            insert = _INSERT.match(piece)
            if insert and _same_table(insert.group(1), insert.group(2), schema, name):
                raise BackupError("backup %s holds the rows of %s as INSERT statements (pg_dump --inserts or "
                                  "--column-inserts): only COPY data can be read; take the dump without "
                                  "--inserts" % (path, table))


def _same_table(raw_schema: Optional[bytes], raw_name: bytes, schema: Optional[str], name: str) -> bool:
    if _unquote_ident(raw_name) != name:
        return False
    return schema is None or (raw_schema is not None and _unquote_ident(raw_schema) == schema)


def _read_block(readline, path: str, table: str, column_list: bytes) -> List[Tuple[str, str]]:
    columns = [_unquote_ident(c.strip()) for c in column_list.split(b",")]
    if "app" not in columns or "name" not in columns:
        raise BackupError("backup %s: the COPY of %s has no app and name columns (columns: %s)"
                          % (path, table, ", ".join(columns)))
    app_at, name_at = columns.index("app"), columns.index("name")
    rows: List[Tuple[str, str]] = []
    line = b""
    while True:
        piece = readline(LINE_LIMIT)
        if not piece:
            if line in _END_OF_DATA:
                return rows
            raise BackupError("backup %s ends inside the data of %s (no \\. line): the dump is truncated; %s"
                              % (path, table, _fix(path)))
        line += piece
        if not line.endswith(b"\n"):
            if len(line) > 64 * LINE_LIMIT:
                raise BackupError("backup %s: a row of %s is longer than %d bytes: not a django_migrations "
                                  "row" % (path, table, 64 * LINE_LIMIT))
            continue
        if line in _END_OF_DATA:
            return rows
        fields = line.rstrip(b"\n").rstrip(b"\r").split(b"\t")
        line = b""
        if len(fields) != len(columns):
            raise BackupError("backup %s: a row of %s has %d fields, its COPY names %d columns: the dump is "
                              "damaged; %s" % (path, table, len(fields), len(columns), _fix(path)))
        app, name = unescape_copy(fields[app_at]), unescape_copy(fields[name_at])
        if app is None or name is None:
            continue
        rows.append((app.decode("utf-8", "replace"), name.decode("utf-8", "replace")))


def _restore_table_rows(path: str, pg_restore: str, table: str) -> Optional[List[Tuple[str, str]]]:
    schema, name = _split_table(table)
    command = [pg_restore, "--data-only", "--table=" + name, "--file=-"]
    if schema is not None:
        command.append("--schema=" + schema)
    command.append(path)
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors)
        rows = None
        try:
            try:
                rows = _copy_rows(proc.stdout.readline, path, table)
            finally:
                # pg_restore writes only this table's data: what is left is read and dropped.
                while proc.stdout.read(CHUNK):
                    pass
                proc.stdout.close()
                returncode = proc.wait()
        except BaseException:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            raise
        if returncode != 0:
            errors.seek(0)
            detail = errors.read(4096).decode("utf-8", "replace").strip()
            raise BackupError("backup %s: pg_restore could not read the data of %s (exit %d): %s; %s"
                              % (path, table, returncode, detail, _fix(path)))
    return rows


def read_django_migrations(path: str, pg_restore: Optional[str] = None,
                           table: str = "django_migrations") -> Optional[List[Tuple[str, str]]]:
    """The (app, name) rows of ``table`` in a backup, in dump order; None when it has no such table.

    ``table`` may be schema-qualified (``public.django_migrations``); unqualified, it is found
    in any schema (the first one dumped). Plain dumps (and gzip ones) are streamed up to the
    end of the table's COPY block; custom, tar and directory archives are read with
    ``pg_restore --data-only --table`` (``pg_restore`` is found as for verify() when not given).
    Memory does not grow with the size of the backup.
    """
    fmt, compression = detect(path)
    if fmt != "plain":
        return _restore_table_rows(path, find_pg_restore(pg_restore), table)
    try:
        if compression == "gzip":
            with gzip.open(path, "rb") as handle:
                return _copy_rows(handle.readline, path, table)
        with open(path, "rb") as handle:
            return _copy_rows(handle.readline, path, table)
    except (EOFError, zlib.error) as exc:
        raise BackupError("backup %s is a damaged gzip stream (%s): the file is truncated or corrupt; %s"
                          % (path, exc, _fix(path)))
    except OSError as exc:  # gzip.BadGzipFile is an OSError
        if compression == "gzip":
            raise BackupError("backup %s is a damaged gzip stream (%s): the file is truncated or corrupt; %s"
                              % (path, exc, _fix(path)))
        raise BackupError("backup %s cannot be read: %s" % (path, exc))
