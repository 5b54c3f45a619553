"""Headless Chromium for the tests of the HTML report: a screenshot, the parsed DOM, a look at the PNG.

Imported by the unit tests (tests/unit/conftest.py puts ``tests/`` on ``sys.path``) and usable from
the molecule testinfra tests (``sys.path.insert(0, os.path.join(PROJECT, "tests"))``): only the
standard library, no pytest.  Chromium is Debian's ``chromium`` package, which ``make host-deps``
installs (tools/host_deps.py); ``chromium-headless-shell`` does as well.

The PNG reader decodes what Chromium writes (8-bit RGB or RGBA, grey with or without alpha,
not interlaced) with zlib only, to tell an empty page from a drawn one.
"""
from __future__ import annotations

import contextlib
import functools
import os
import pathlib
import shutil
import signal
import struct
import subprocess
import tempfile
import zlib

BINARIES = ("chromium", "chromium-headless-shell")
TIMEOUT = 90


class BrowserError(RuntimeError):
    """Chromium is missing, failed, or wrote no usable screenshot."""


def chromium_binary() -> str:
    """The path of the Chromium binary; a missing one is an error that says how to install it."""
    for name in BINARIES:
        path = shutil.which(name)
        if path:
            return path
    raise BrowserError("no Chromium found (looked for %s on PATH): run `make host-deps` (as root; it installs "
                       "Debian's chromium package) to test the HTML report in a browser" % " or ".join(BINARIES))


def _url(html_path: str) -> str:
    path = os.path.abspath(html_path)
    if not os.path.isfile(path):
        raise BrowserError("no such HTML file: %s" % path)
    return pathlib.Path(path).as_uri()


def _run(args: list[str], timeout: float) -> tuple[bytes, bytes]:
    """Chromium headless with a throw-away profile: (stdout, stderr); a failure raises with what Chromium said."""
    profile = tempfile.mkdtemp(prefix="rb-chromium-")
    # --no-sandbox: the tests run as root, where Chromium's sandbox refuses to start.
    cmd = [chromium_binary(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
           "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--mute-audio",
           "--user-data-dir=%s" % profile] + args
    try:
        # Its own process group: a Chromium that hangs is killed with its renderer and GPU processes.
        with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                              start_new_session=True) as proc:
            try:
                out, err = proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):  # ended just now
                    os.killpg(proc.pid, signal.SIGKILL)
                out, err = proc.communicate()
                raise BrowserError("Chromium did not finish within %s s: %s\n%s"
                                   % (timeout, " ".join(cmd), _tail(err))) from None
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    if proc.returncode != 0:
        raise BrowserError("Chromium exited with %d: %s\n%s" % (proc.returncode, " ".join(cmd), _tail(err)))
    return out, err


def _tail(stderr: bytes, limit: int = 4000) -> str:
    """The end of Chromium's stderr, without its complaints about the missing D-Bus (every run has them)."""
    lines = [line for line in stderr.decode("utf-8", "replace").splitlines() if ":ERROR:dbus/" not in line]
    return "\n".join(lines)[-limit:]


def screenshot(html_path: str, png_path: str, width: int = 1280, height: int = 2400, timeout: float = TIMEOUT) -> str:
    """Open html_path in headless Chromium with a width x height window and save it as png_path."""
    png_path = os.path.abspath(png_path)
    if os.path.exists(png_path):
        os.unlink(png_path)
    _out, err = _run(["--screenshot=%s" % png_path, "--window-size=%d,%d" % (width, height), _url(html_path)], timeout)
    if not os.path.isfile(png_path) or os.path.getsize(png_path) == 0:
        raise BrowserError("Chromium exited 0 but wrote no screenshot to %s\n%s" % (png_path, _tail(err)))
    return png_path


def dump_dom(html_path: str, timeout: float = TIMEOUT) -> str:
    """The DOM as Chromium parsed html_path (its serialisation, from --dump-dom)."""
    out, err = _run(["--dump-dom", _url(html_path)], timeout)
    dom = out.decode("utf-8", "replace")
    if not dom.strip():
        raise BrowserError("Chromium printed no DOM for %s\n%s" % (html_path, _tail(err)))
    return dom


# ---------------------------------------------------------------------------------------------
# PNG, with the standard library only
# ---------------------------------------------------------------------------------------------

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Bytes per pixel at bit depth 8, by colour type: grey, RGB, grey + alpha, RGBA.
CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}


def _chunks(path: str):
    with open(path, "rb") as f:
        data = f.read()
    if not data.startswith(PNG_SIGNATURE):
        raise BrowserError("%s is not a PNG file" % path)
    pos = len(PNG_SIGNATURE)
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if len(body) != length or pos + 12 + length > len(data):
            raise BrowserError("%s: truncated PNG chunk %r" % (path, kind))
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        if zlib.crc32(kind + body) & 0xFFFFFFFF != crc:
            raise BrowserError("%s: bad CRC in PNG chunk %r" % (path, kind))
        yield kind, body
        if kind == b"IEND":
            return
        pos += 12 + length
    raise BrowserError("%s: PNG without an IEND chunk" % path)


def _header(path: str) -> dict:
    for kind, body in _chunks(path):
        if kind != b"IHDR" or len(body) != 13:
            raise BrowserError("%s: the PNG does not start with an IHDR chunk" % path)
        width, height, depth, colour, compression, filtering, interlace = struct.unpack(">IIBBBBB", body)
        return {"width": width, "height": height, "depth": depth, "colour": colour,
                "compression": compression, "filter": filtering, "interlace": interlace}
    raise BrowserError("%s: empty PNG" % path)


def png_size(path: str) -> tuple[int, int]:
    """(width, height) of a PNG file, from its IHDR chunk."""
    header = _header(path)
    return header["width"], header["height"]


@functools.lru_cache(maxsize=4)
def _masks(n: int) -> tuple[int, int]:
    return int.from_bytes(b"\x7f" * n, "big"), int.from_bytes(b"\x80" * n, "big")


def _add(a: bytes, b: bytes) -> bytes:
    """Bytewise (a + b) mod 256 on whole rows at once, with big integers (no carry between bytes)."""
    n = len(a)
    low, high = _masks(n)
    x, y = int.from_bytes(a, "big"), int.from_bytes(b, "big")
    return (((x & low) + (y & low)) ^ ((x ^ y) & high)).to_bytes(n, "big")


def _unfilter(kind: int, raw: bytes, prev: bytes, bpp: int) -> bytes:
    if kind == 0:
        return raw
    if kind == 2:
        return _add(raw, prev)
    row = bytearray(raw)
    n = len(row)
    if kind == 1:
        for i in range(bpp, n):
            row[i] = (row[i] + row[i - bpp]) & 0xFF
    elif kind == 3:
        for i in range(n):
            left = row[i - bpp] if i >= bpp else 0
            row[i] = (row[i] + ((left + prev[i]) >> 1)) & 0xFF
    elif kind == 4:
        for i in range(n):
            a = row[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            row[i] = (row[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
    else:
        raise BrowserError("PNG scanline with unknown filter type %d" % kind)
    return bytes(row)


def _inflated(path: str):
    """The image data of the IDAT chunks, inflated piece by piece."""
    inflate = zlib.decompressobj()
    for kind, body in _chunks(path):
        if kind == b"IDAT":
            yield inflate.decompress(body)
    yield inflate.flush()


def png_rows(path: str):
    """The PNG's rows of pixels as bytes (8-bit grey, grey + alpha, RGB or RGBA; not interlaced)."""
    header = _header(path)
    if header["depth"] != 8 or header["colour"] not in CHANNELS:
        raise BrowserError("%s: only 8-bit grey/RGB(A) PNGs are read, this one has bit depth %d, colour type %d"
                           % (path, header["depth"], header["colour"]))
    if header["interlace"] or header["compression"] or header["filter"]:
        raise BrowserError("%s: interlaced or non-standard PNGs are not read" % path)
    bpp = CHANNELS[header["colour"]]
    stride = header["width"] * bpp
    buf, prev, rows = bytearray(), bytes(stride), 0
    for piece in _inflated(path):
        buf += piece
        offset = 0
        while len(buf) - offset > stride and rows < header["height"]:
            prev = _unfilter(buf[offset], bytes(buf[offset + 1:offset + stride + 1]), prev, bpp)
            offset += stride + 1
            rows += 1
            yield prev
        del buf[:offset]
    if rows != header["height"]:
        raise BrowserError("%s: %d rows of pixels, the header says %d" % (path, rows, header["height"]))


def png_is_blank(path: str) -> bool:
    """Whether every pixel of the PNG has the same colour (an empty or unrendered page)."""
    header = _header(path)
    bpp = CHANNELS.get(header["colour"], 0)
    expected = None
    for row in png_rows(path):
        if expected is None:
            expected = row[:bpp] * header["width"]
        if row != expected:
            return False
    return True
