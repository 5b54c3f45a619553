# -*- coding: utf-8 -*-
# Copyright: (c) 2026, runbooks.rollback developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A minimal Redis client: RESP2 over a socket, standard library only (no redis-py on targets).

URLs as Celery and kombu take them:

- ``redis://[[user]:password@]host[:port][/db]`` (``?db=N`` or ``?virtual_host=N`` also choose the db);
- ``rediss://...`` the same over TLS (``ssl.create_default_context``); query options as kombu's:
  ``ssl_cert_reqs=none|optional|required`` (also ``CERT_NONE`` ...), ``ssl_ca_certs=<CA file>``,
  ``ssl_certfile`` / ``ssl_keyfile`` (a client certificate), ``ssl_check_hostname=false``;
- ``redis+socket:///path/to/redis.sock?virtual_host=N``, ``unix:///path?db=N``, ``socket:///path``.

``Redis(url).command("LRANGE", key, 0, -1)`` sends one command and returns its reply: bulk strings
as bytes, simple strings as text, integers as int, arrays as lists, a nil as None; an error reply
raises ``RedisReplyError``. ``AUTH`` (``AUTH user password`` for a Redis 6 ACL user) and ``SELECT``
are sent on connect. No pipelining, no cluster or sentinel.

Every failure is a ``RedisError`` whose message names the broker by ``redact(url)`` (the password
replaced by ``***``), never by the URL itself.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re
import socket
import ssl
from typing import Any, Dict, List, Optional

from urllib.parse import parse_qsl, quote, unquote, urlsplit

DEFAULT_PORT = 6379
SCHEMES_TCP = ("redis", "rediss")
SCHEMES_SOCKET = ("redis+socket", "unix", "socket")
CERT_REQS = {
    "none": ssl.CERT_NONE, "cert_none": ssl.CERT_NONE,
    "optional": ssl.CERT_OPTIONAL, "cert_optional": ssl.CERT_OPTIONAL,
    "required": ssl.CERT_REQUIRED, "cert_required": ssl.CERT_REQUIRED,
}
_READ_SIZE = 65536
_SECRET_QUERY = re.compile(r"((?:^|[?&;])(?:password|passwd|pass)=)[^&;#]*", re.IGNORECASE)
# The password: from the user's ':' to the LAST '@' (a password may hold '/', '#', '?' or '@' not
# percent-encoded, which a URL parser reads as the path, the fragment or the query).
_USERINFO = re.compile(r"(://[^/@:?#]*:)(.*)@")
# Characters of a password that end the authority of a URL unless percent-encoded.
_BREAKS_URL = re.compile(r"[/?#]")


def _mask(url):
    # type: (str) -> str
    """The URL with its password and any password= query value masked, read as text: never parsed."""
    return _SECRET_QUERY.sub(r"\1***", _USERINFO.sub(r"\1***@", url))


def _password_breaks_url(url):
    # type: (str) -> bool
    found = _USERINFO.search(url)
    return bool(found and _BREAKS_URL.search(found.group(2)))


class RedisError(Exception):
    """Redis cannot be reached or refused a command; the message never holds the password."""


class RedisReplyError(RedisError):
    """The server answered a command with an error reply (``reply`` is its text, e.g. ``WRONGPASS ...``)."""

    def __init__(self, message, reply):
        RedisError.__init__(self, message)
        self.reply = reply


def redact(url):
    # type: (Optional[str]) -> str
    """The URL with its password replaced by ``***``: ``redis://:***@host:6379/0``.

    Written from the parsed URL (scheme, user, host, port, db); a URL that cannot be parsed is
    returned with anything between ``:`` and ``@`` and any ``password=`` query value masked.
    """
    if not url:
        return ""
    # Masked before any parsing: a password with '/', '#' or '?' would be parsed as part of the path.
    if _password_breaks_url(url):
        return _mask(url)
    try:
        info = parse_url(url)
    except RedisError:
        return _mask(url)
    auth = ""
    if info["password"] is not None:
        auth = "%s:***@" % quote(info["username"] or "", safe="")
    elif info["username"]:
        auth = "%s@" % quote(info["username"], safe="")
    if info["path"]:
        return "%s://%s%s?db=%s" % (info["scheme"], auth, info["path"], info["db"])
    host = info["host"]
    if ":" in host:  # IPv6 literal
        host = "[%s]" % host
    return "%s://%s%s:%s/%s" % (info["scheme"], auth, host, info["port"], info["db"])


def _db(text, url_for_errors):
    # type: (str, str) -> int
    text = text.strip().strip("/")
    if text == "":
        return 0
    if not text.isdigit():
        raise RedisError("the redis URL %s names the database %r: it must be a number (redis://host:6379/0)"
                         % (url_for_errors, text))
    return int(text)


def parse_url(url):
    # type: (str) -> Dict[str, Any]
    """{scheme, host, port, path (unix socket, else None), db, username, password, tls (dict or None)}."""
    if not isinstance(url, str) or not url.strip():
        raise RedisError("no redis URL given: pass broker_url (redis://[:password@]host:6379/0)")
    url = url.strip()
    masked = _mask(url)
    if _password_breaks_url(url):
        raise RedisError("the password of the redis URL %s holds '/', '#' or '?' as they are: percent-encode "
                         "them (%%2F, %%23, %%3F), as Celery's URL needs them too" % masked)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise RedisError("cannot read the redis URL %s: %s" % (masked, exc))
    scheme = (parts.scheme or "").lower()
    if scheme not in SCHEMES_TCP + SCHEMES_SOCKET:
        raise RedisError("the broker URL %s is not a redis URL (redis://, rediss://, redis+socket:// or unix://): "
                         "this module only reads a Redis broker" % masked)
    query = dict((key.lower(), value) for key, value in parse_qsl(parts.query, keep_blank_values=True))
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    if password == "":
        password = None
    info = {"scheme": scheme, "username": username, "password": password, "tls": None,
            "host": None, "port": None, "path": None, "db": 0}
    if scheme in SCHEMES_SOCKET:
        path = unquote(parts.path or "")
        if not path:
            raise RedisError("the redis URL %s names no socket: write it redis+socket:///path/to/redis.sock" % masked)
        info["path"] = path
        info["db"] = _db(query.get("virtual_host", query.get("db", "0")), masked)
        if password is None and query.get("password"):
            info["password"] = query["password"]
        return info
    info["host"] = parts.hostname or "localhost"
    info["port"] = port or DEFAULT_PORT
    db_text = (parts.path or "").strip("/")
    if not db_text:
        db_text = query.get("db", query.get("virtual_host", "0"))
    info["db"] = _db(db_text, masked)
    if password is None and query.get("password"):
        info["password"] = query["password"]
    if scheme == "rediss":
        reqs_text = query.get("ssl_cert_reqs", "required").lower()
        if reqs_text not in CERT_REQS:
            raise RedisError("the redis URL %s has ssl_cert_reqs=%s: use none, optional or required"
                             % (masked, reqs_text))
        check = query.get("ssl_check_hostname", "").lower()
        info["tls"] = {
            "cert_reqs": CERT_REQS[reqs_text],
            "ca_file": query.get("ssl_ca_certs") or None,
            "certfile": query.get("ssl_certfile") or None,
            "keyfile": query.get("ssl_keyfile") or None,
            "check_hostname": check not in ("false", "0", "no", "off"),
        }
    return info


def _encode(arg):
    # type: (Any) -> bytes
    if isinstance(arg, bytes):
        return arg
    if isinstance(arg, bool):
        raise TypeError("a redis argument cannot be a bool")
    if isinstance(arg, (int, float)):
        return str(arg).encode("ascii")
    if isinstance(arg, str):
        return arg.encode("utf-8", "surrogateescape")
    raise TypeError("a redis argument must be bytes, text or a number, not %s" % type(arg).__name__)


def pack(*args):
    # type: (Any) -> bytes
    """One command in RESP: an array of bulk strings."""
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = _encode(arg)
        out.append(b"$%d\r\n" % len(data))
        out.append(data)
        out.append(b"\r\n")
    return b"".join(out)


class Redis(object):
    """One connection to Redis. Use as a context manager, or call ``close()``."""

    def __init__(self, url, connect_timeout=10, timeout=60, ca_file=None):
        # type: (str, float, Optional[float], Optional[str]) -> None
        self.url = url
        self.info = parse_url(url)
        self.redacted = redact(url)
        self.connect_timeout = connect_timeout
        self.timeout = timeout
        if ca_file and self.info["tls"] is not None:
            self.info["tls"]["ca_file"] = ca_file
        self.sock = None  # type: Optional[socket.socket]
        self._buffer = b""

    # --- the connection ---------------------------------------------------------------------

    def __enter__(self):
        self.connect()
        return self

    def __exit__(self, *exc_info):
        self.close()

    def _where(self):
        # type: () -> str
        return "redis at %s" % self.redacted

    def connect(self):
        # type: () -> Redis
        info = self.info
        try:
            if info["path"]:
                if not hasattr(socket, "AF_UNIX"):
                    raise RedisError("%s: unix sockets are not available on this system" % self._where())
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.settimeout(self.connect_timeout)
                try:
                    sock.connect(info["path"])
                except BaseException:
                    sock.close()
                    raise
            else:
                sock = socket.create_connection((info["host"], info["port"]), timeout=self.connect_timeout)
                if info["tls"] is not None:
                    sock = self._wrap_tls(sock)
        except socket.timeout:
            raise RedisError("cannot connect to %s: no answer within %s seconds (connect_timeout); check the host "
                             "and port of broker_url and that redis is up and reachable from this host"
                             % (self._where(), self.connect_timeout))
        except ssl.SSLError as exc:
            raise RedisError("TLS with %s failed: %s; check the CA (ssl_ca_certs=<file> in the URL) or, for a "
                             "self-signed test server only, ssl_cert_reqs=none" % (self._where(), exc))
        except OSError as exc:
            raise RedisError("cannot connect to %s: %s; check that redis runs there (redis-cli ping) and the "
                             "host, port or socket of broker_url" % (self._where(), exc.strerror or exc))
        sock.settimeout(self.timeout)
        self.sock = sock
        self._buffer = b""
        try:
            self._handshake()
        except BaseException:
            self.close()
            raise
        return self

    def _wrap_tls(self, sock):
        # type: (socket.socket) -> socket.socket
        tls = self.info["tls"]
        try:
            context = ssl.create_default_context(cafile=tls["ca_file"])
            if tls["cert_reqs"] == ssl.CERT_NONE or not tls["check_hostname"]:
                context.check_hostname = False
            context.verify_mode = tls["cert_reqs"]
            if tls["certfile"]:
                context.load_cert_chain(tls["certfile"], tls["keyfile"])
        except (OSError, ssl.SSLError) as exc:
            sock.close()
            raise RedisError("cannot set up TLS for %s: %s; check the files named by ssl_ca_certs, ssl_certfile "
                             "and ssl_keyfile in the URL" % (self._where(), getattr(exc, "strerror", None) or exc))
        try:
            return context.wrap_socket(sock, server_hostname=self.info["host"])
        except BaseException:
            sock.close()
            raise

    def _handshake(self):
        # type: () -> None
        info = self.info
        if info["password"] is not None:
            args = ["AUTH"] + ([info["username"]] if info["username"] else []) + [info["password"]]
            try:
                self.command(*args)
            except RedisReplyError as exc:
                raise RedisReplyError(
                    "%s refused the credentials of broker_url (%s): check the password%s in the URL "
                    "(written redis://:PASSWORD@host:6379/0)"
                    % (self._where(), _reply_text(exc.reply), " and the user" if info["username"] else ""),
                    exc.reply)
        if info["db"]:
            try:
                self.command("SELECT", info["db"])
            except RedisReplyError as exc:
                if exc.reply.startswith("NOAUTH"):
                    raise self._noauth(exc)
                raise RedisReplyError("%s cannot select the database %d: %s; check the /db of broker_url"
                                      % (self._where(), info["db"], exc.reply), exc.reply)

    def _noauth(self, exc):
        # type: (RedisReplyError) -> RedisReplyError
        return RedisReplyError("%s requires a password and broker_url has none: write it "
                               "redis://:PASSWORD@host:6379/0 (%s)" % (self._where(), exc.reply), exc.reply)

    def close(self):
        # type: () -> None
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
            self.sock = None

    # --- commands -----------------------------------------------------------------------------

    def command(self, *args):
        # type: (Any) -> Any
        """Send one command, return its reply; an error reply raises RedisReplyError."""
        if self.sock is None:
            self.connect()
        name = str(args[0]).upper() if args else "?"
        try:
            self.sock.sendall(pack(*args))
            reply = self._read_reply()
        except socket.timeout:
            self.close()
            raise RedisError("%s did not answer %s within %s seconds; is it overloaded or blocked?"
                             % (self._where(), name, self.timeout))
        except ssl.SSLError as exc:
            self.close()
            raise RedisError("TLS error talking to %s during %s: %s" % (self._where(), name, exc))
        except OSError as exc:
            self.close()
            raise RedisError("lost the connection to %s during %s: %s" % (self._where(), name, exc.strerror or exc))
        if isinstance(reply, _ErrorReply):
            if reply.text.startswith("NOAUTH") and name != "AUTH":
                raise self._noauth(RedisReplyError(reply.text, reply.text))
            raise RedisReplyError("%s answered %s with an error: %s" % (self._where(), name, reply.text), reply.text)
        return reply

    def _fill(self):
        # type: () -> None
        data = self.sock.recv(_READ_SIZE)
        if not data:
            raise OSError("the server closed the connection")
        self._buffer += data

    def _line(self):
        # type: () -> bytes
        while True:
            end = self._buffer.find(b"\r\n")
            if end >= 0:
                line, self._buffer = self._buffer[:end], self._buffer[end + 2:]
                return line
            self._fill()

    def _exactly(self, size):
        # type: (int) -> bytes
        while len(self._buffer) < size + 2:
            self._fill()
        data, self._buffer = self._buffer[:size], self._buffer[size + 2:]
        return data

    def _read_reply(self):
        # type: () -> Any
        line = self._line()
        if not line:
            raise OSError("an empty line in the reply (not a Redis server?)")
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode("utf-8", "replace")
        if kind == b"-":
            return _ErrorReply(rest.decode("utf-8", "replace"))
        if kind == b":":
            return int(rest)
        if kind == b"$":
            size = int(rest)
            return None if size < 0 else self._exactly(size)
        if kind == b"*":
            count = int(rest)
            if count < 0:
                return None
            items = []  # type: List[Any]
            for _index in range(count):
                item = self._read_reply()
                if isinstance(item, _ErrorReply):
                    item = RedisReplyError(item.text, item.text)
                items.append(item)
            return items
        raise OSError("an unexpected reply %r (not a Redis server speaking RESP2?)" % line[:40])


class _ErrorReply(object):
    def __init__(self, text):
        self.text = text


def _reply_text(reply):
    # type: (str) -> str
    """The server's error text (WRONGPASS ..., ERR invalid password); it never echoes the password."""
    return reply.strip() or "an error"
