"""redis_client: the URLs Celery takes, redaction, and real commands against a real redis-server (TCP,
unix socket, TLS)."""
from __future__ import annotations

import os
import re
import ssl
import sys

import pytest

from ansible_collections.runbooks.rollback.plugins.module_utils.redis_client import (
    Redis, RedisError, RedisReplyError, pack, parse_url, redact)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", ".."))
from redis_server import redis_server  # noqa: E402  pylint: disable=wrong-import-position

PASSWORD = "p@ss:w/rd%with#odd&chars"
QUOTED = "p%40ss%3Aw%2Frd%25with%23odd%26chars"


@pytest.fixture(scope="module")
def server():
    with redis_server(requirepass=PASSWORD, tls=True) as srv:
        yield srv


@pytest.mark.parametrize("url, expected", [
    ("redis://localhost", dict(host="localhost", port=6379, db=0, username=None, password=None, path=None)),
    ("redis://:%s@redis.internal:6380/2" % QUOTED,
     dict(host="redis.internal", port=6380, db=2, username=None, password=PASSWORD)),
    ("redis://celery:secret@10.0.0.5/4", dict(host="10.0.0.5", port=6379, db=4, username="celery", password="secret")),
    ("redis://h:1?db=7", dict(host="h", port=1, db=7)),
    ("redis://[::1]:7000/1", dict(host="::1", port=7000, db=1)),
    ("redis+socket:///run/redis/redis.sock?virtual_host=3", dict(path="/run/redis/redis.sock", db=3, host=None)),
    ("unix:///run/redis.sock?db=5", dict(path="/run/redis.sock", db=5)),
    ("socket:///run/redis.sock", dict(path="/run/redis.sock", db=0)),
    ("redis+socket://:pw@/run/redis.sock", dict(path="/run/redis.sock", password="pw")),
])
def test_urls_as_celery_writes_them(url, expected):
    info = parse_url(url)
    for key, value in expected.items():
        assert info[key] == value, key
    assert info["tls"] is None


def test_rediss_takes_kombus_ssl_options():
    info = parse_url("rediss://:pw@h:6380/0?ssl_cert_reqs=none&ssl_ca_certs=/etc/ca.pem")
    assert info["tls"]["cert_reqs"] == ssl.CERT_NONE and info["tls"]["ca_file"] == "/etc/ca.pem"
    assert parse_url("rediss://h")["tls"]["cert_reqs"] == ssl.CERT_REQUIRED
    assert parse_url("rediss://h?ssl_cert_reqs=CERT_OPTIONAL")["tls"]["cert_reqs"] == ssl.CERT_OPTIONAL
    with pytest.raises(RedisError, match="ssl_cert_reqs=maybe"):
        parse_url("rediss://:pw@h?ssl_cert_reqs=maybe")


@pytest.mark.parametrize("url, message", [
    ("amqp://guest:guest@rabbit//", "not a redis URL"),
    ("redis://h/zero", "must be a number"),
    ("redis+socket://", "names no socket"),
    ("", "no redis URL given"),
])
def test_urls_that_cannot_be_used_say_why_without_the_password(url, message):
    with pytest.raises(RedisError) as info:
        parse_url(url)
    assert message in str(info.value)
    assert "guest:guest" not in str(info.value)


def test_redact_never_shows_the_password():
    assert redact("redis://:%s@h:6380/2" % QUOTED) == "redis://:***@h:6380/2"
    assert redact("redis://celery:secret@h") == "redis://celery:***@h:6379/0"
    assert redact("redis://h") == "redis://h:6379/0"
    assert redact("rediss://:pw@h?ssl_cert_reqs=none") == "rediss://:***@h:6379/0"
    assert redact("redis+socket://:pw@/run/r.sock?virtual_host=2") == "redis+socket://:***@/run/r.sock?db=2"
    # not parseable: masked all the same
    assert "secret" not in redact("redis://:secret@h:notaport/0")
    assert "secret" not in redact("redis://h/0?password=secret")


def test_pack_is_resp():
    assert pack("LREM", "celery", 1, b"\x00v\r\n") == b"*4\r\n$4\r\nLREM\r\n$6\r\ncelery\r\n$1\r\n1\r\n$4\r\n\x00v\r\n\r\n"


def test_replies_of_each_type_and_binary_values(server):
    url = "redis://:%s@127.0.0.1:%d/2" % (QUOTED, server["port"])
    value = bytes(range(256)) * 300  # larger than one read, every byte
    with Redis(url) as client:
        client.command("FLUSHDB")
        assert client.command("PING") == "PONG"
        assert client.command("RPUSH", "l", value, "\u00e9t\u00e9") == 2
        assert client.command("LRANGE", "l", 0, -1) == [value, "\u00e9t\u00e9".encode("utf-8")]
        assert client.command("GET", "missing") is None
        assert client.command("HGETALL", "missing") == []
        with pytest.raises(RedisReplyError) as info:
            client.command("INCR", "l")
        assert info.value.reply.startswith("WRONGTYPE")
        assert client.command("CLIENT", "LIST").count(b"db=2") == 1
    with Redis(server["socket_url"].replace("virtual_host=0", "virtual_host=2").replace(
            ":%s@" % PASSWORD, ":%s@" % QUOTED)) as client:
        assert client.command("LLEN", "l") == 2
        client.command("FLUSHDB")


def test_tls_with_the_ca_and_with_cert_reqs_none(server):
    base = "rediss://:%s@127.0.0.1:%d/0" % (QUOTED, server["tls_port"])
    with Redis(base + "?ssl_ca_certs=" + server["ca_file"]) as client:
        assert client.command("PING") == "PONG"
    with Redis(base + "?ssl_cert_reqs=none") as client:
        assert client.command("PING") == "PONG"
    with Redis(base, ca_file=server["ca_file"]) as client:
        assert client.command("PING") == "PONG"
    with pytest.raises(RedisError) as info:
        Redis(base).connect()  # a self-signed certificate, no CA given
    assert "TLS with redis at rediss://:***@127.0.0.1" in str(info.value) and "ssl_ca_certs" in str(info.value)
    assert PASSWORD not in str(info.value)


def test_auth_errors_are_told_apart_and_never_hold_the_password(server):
    with pytest.raises(RedisReplyError) as info:
        Redis("redis://:wrong-one@127.0.0.1:%d/0" % server["port"]).connect()
    assert "refused the credentials" in str(info.value) and "wrong-one" not in str(info.value)
    with pytest.raises(RedisReplyError) as info:
        Redis("redis://127.0.0.1:%d/3" % server["port"]).connect()
    assert "requires a password and broker_url has none" in str(info.value)
    with pytest.raises(RedisReplyError) as info:
        Redis("redis://:%s@127.0.0.1:%d/99" % (QUOTED, server["port"])).connect()
    assert "cannot select the database 99" in str(info.value)


def test_connection_errors_name_the_broker(tmp_path):
    with pytest.raises(RedisError) as info:
        Redis("redis+socket://:pw@%s/none.sock" % tmp_path).connect()
    assert "cannot connect to redis at redis+socket://:***@" in str(info.value)
    with pytest.raises(RedisError) as info:
        Redis("redis://:pw@10.255.255.1:6379/0", connect_timeout=0.2).connect()
    assert "redis://:***@10.255.255.1:6379/0" in str(info.value) and ":pw@" not in str(info.value)


@pytest.mark.parametrize("secret", ["s3/cr3t", "s3#cr3t", "s3?cr3t", "a/b#c?d@e"])
def test_a_password_that_breaks_the_url_is_masked_before_any_parsing(secret):
    url = "redis://:%s@broker.example:6379/0" % secret
    pieces = [piece for piece in re.split(r"[/#?@]", secret) if len(piece) > 1]
    shown = redact(url)
    assert all(piece not in shown for piece in pieces), shown
    assert shown == "redis://:***@broker.example:6379/0"
    with pytest.raises(RedisError) as info:
        parse_url(url)
    assert "percent-encode" in str(info.value)
    assert all(piece not in str(info.value) for piece in pieces), str(info.value)
