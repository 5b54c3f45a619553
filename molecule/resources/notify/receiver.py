"""A real mail and webhook receiver for the tests: what the rollback's notices reached.

    python3 receiver.py --dir DIR [--smtp-port 2525] [--http-port 8025] [--host 0.0.0.0]

- SMTP (aiosmtpd, Debian's python3-aiosmtpd or PyPI's): every message is appended to
  DIR/mail.jsonl as {"received_at", "mail_from", "rcpt_tos", "subject", "body"}.
- HTTP: a POST to any path is appended to DIR/http.jsonl as {"received_at", "path",
  "content_type", "json" (or "text")} and answered 200; a POST to a path starting with /fail is
  answered 500 (a webhook that refuses); GET /messages returns both files as one JSON document.

Also importable (``start(dir, host, smtp_port, http_port)``) for the unit tests.
"""
from __future__ import annotations

import argparse
import datetime
import email
import email.policy
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller

_LOCK = threading.Lock()


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _append(path: str, entry: dict) -> None:
    with _LOCK, open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps(entry) + "\n")


def read(directory: str) -> dict:
    """Both logs, as lists."""
    found = {}
    for name in ("mail", "http"):
        path = os.path.join(directory, name + ".jsonl")
        found[name] = []
        if os.path.exists(path):
            with open(path, encoding="utf-8") as log:
                found[name] = [json.loads(line) for line in log if line.strip()]
    return found


class _Mail:
    def __init__(self, directory: str):
        self.path = os.path.join(directory, "mail.jsonl")

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        part = message.get_body(preferencelist=("plain",)) if message.is_multipart() else message
        _append(self.path, {"received_at": _now(), "mail_from": envelope.mail_from, "rcpt_tos": list(envelope.rcpt_tos),
                            "subject": str(message.get("Subject", "")), "body": part.get_content() if part else ""})
        return "250 Message accepted for delivery"


def _http_handler(directory: str):
    path = os.path.join(directory, "http.jsonl")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # quiet
            pass

        def _answer(self, code: int, body: bytes, kind: str = "application/json") -> None:
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):  # noqa: N802
            if self.path.startswith("/messages"):
                self._answer(200, json.dumps(read(directory)).encode())
            else:
                self._answer(200, b'{"ok": true}')

        def do_POST(self):  # noqa: N802
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("utf-8", "replace")
            entry = {"received_at": _now(), "path": self.path, "content_type": self.headers.get("Content-Type", "")}
            try:
                entry["json"] = json.loads(raw)
            except ValueError:
                entry["text"] = raw
            if self.path.startswith("/fail"):
                entry["answered"] = 500
                _append(path, entry)
                self._answer(500, b'{"error": "refused by the test receiver"}')
                return
            entry["answered"] = 200
            _append(path, entry)
            self._answer(200, b'{"ok": true}')

    return Handler


def start(directory: str, host: str = "127.0.0.1", smtp_port: int = 2525, http_port: int = 8025):
    """Start both servers in this process; returns (smtp_controller, http_server). Stop with stop()."""
    os.makedirs(directory, exist_ok=True)
    smtp = Controller(_Mail(directory), hostname=host, port=smtp_port)
    smtp.start()
    http = ThreadingHTTPServer((host, http_port), _http_handler(directory))
    threading.Thread(target=http.serve_forever, daemon=True).start()
    return smtp, http


def stop(servers) -> None:
    smtp, http = servers
    smtp.stop()
    http.shutdown()
    http.server_close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", required=True)
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--smtp-port", type=int, default=2525)
    parser.add_argument("--http-port", type=int, default=8025)
    args = parser.parse_args()
    start(args.dir, args.host, args.smtp_port, args.http_port)
    threading.Event().wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
