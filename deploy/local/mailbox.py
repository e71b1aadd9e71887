"""Local SMTP mailbox for development and tests (started by deploy/local/infra.sh).

An aiosmtpd server accepts every message (any sender, any recipient, any AUTH) and stores it
as one ``<id>.eml`` file in the mailbox folder: the raw bytes as received, under a name that
sorts by arrival.  Each file appears atomically (written to a hidden temp file, then renamed),
so a test that watches the folder never reads half a message.  The SMTP envelope (MAIL FROM /
RCPT TO, which Bcc recipients only appear in) is kept next to it in ``<id>.json``.

A tiny HTTP view on the side:
    GET    /                     HTML list of the messages (newest first)
    GET    /api/messages         JSON [{id, from, to: [...], subject, received_at, size}]
                                 (oldest first; ``?to=addr`` keeps messages for that recipient)
    GET    /api/messages/{id}    the raw message (message/rfc822)
    DELETE /api/messages         empties the mailbox
    DELETE /api/messages/{id}    deletes one message

Only the standard library and aiosmtpd are used; run it with the project's venv:
    .venv/bin/python deploy/local/mailbox.py --dir .run/mailbox
"""

from __future__ import annotations

import argparse
import html
import json
import logging
import os
import re
import signal
import threading
from datetime import UTC, datetime
from email.header import decode_header, make_header
from email.parser import BytesHeaderParser
from email.utils import getaddresses
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

log = logging.getLogger("mailbox")

# Ids double as file names and URL segments; anything else is rejected (no path traversal).
ID_RE = re.compile(r"^[0-9]{8}T[0-9]{12}Z-[0-9]{6}$")


class Mailbox:
    """The folder of stored messages; safe to use from the SMTP and the HTTP threads."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._seq = 0
        self._last = datetime.min.replace(tzinfo=UTC)

    def _next_id(self) -> tuple[str, datetime]:
        with self._lock:
            # Never go backwards even if the wall clock does, so names keep sorting by arrival.
            now = max(datetime.now(UTC), self._last)
            self._last = now
            self._seq += 1
            return f"{now:%Y%m%dT%H%M%S%f}Z-{self._seq:06d}", now

    def _write_atomically(self, path: Path, data: bytes) -> None:
        # The temp name starts with "." and does not end in .eml, so globbing *.eml skips it.
        tmp = path.with_name(f".{path.name}.part")
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)

    def save(self, raw: bytes, mail_from: str, rcpt_tos: list[str], peer: str) -> str:
        msg_id, now = self._next_id()
        envelope = {
            "id": msg_id,
            "mail_from": mail_from,
            "rcpt_tos": rcpt_tos,
            "peer": peer,
            "received_at": now.isoformat(),
        }
        # Envelope first: when the .eml shows up, its metadata is already there.
        self._write_atomically(self.dir / f"{msg_id}.json", json.dumps(envelope).encode())
        self._write_atomically(self.dir / f"{msg_id}.eml", raw)
        return msg_id

    def ids(self) -> list[str]:
        return sorted(p.stem for p in self.dir.glob("*.eml") if ID_RE.match(p.stem))

    def raw(self, msg_id: str) -> bytes | None:
        if not ID_RE.match(msg_id):
            return None
        try:
            return (self.dir / f"{msg_id}.eml").read_bytes()
        except FileNotFoundError:
            return None

    def summary(self, msg_id: str) -> dict[str, Any] | None:
        raw = self.raw(msg_id)
        if raw is None:
            return None
        headers = BytesHeaderParser().parsebytes(raw)
        try:
            envelope = json.loads((self.dir / f"{msg_id}.json").read_text())
        except (FileNotFoundError, ValueError):
            envelope = {}
        header_to = [addr for _, addr in getaddresses(headers.get_all("To", []))]
        received_at = (
            envelope.get("received_at")
            or datetime.strptime(msg_id.split("-")[0], "%Y%m%dT%H%M%S%fZ")
            .replace(tzinfo=UTC)
            .isoformat()
        )
        return {
            "id": msg_id,
            # The SMTP envelope is what was really sent; the headers are only the fallback.
            "from": envelope.get("mail_from") or _decoded(headers.get("From")),
            "to": envelope.get("rcpt_tos") or header_to,
            "subject": _decoded(headers.get("Subject")),
            "received_at": received_at,
            "size": len(raw),
        }

    def delete(self, msg_id: str | None = None) -> int:
        ids = self.ids() if msg_id is None else [msg_id] if ID_RE.match(msg_id) else []
        deleted = 0
        for i in ids:
            try:
                (self.dir / f"{i}.eml").unlink()
                deleted += 1
            except FileNotFoundError:
                pass
            (self.dir / f"{i}.json").unlink(missing_ok=True)
        return deleted


def _decoded(value: str | None) -> str:
    """RFC 2047 encoded words (=?utf-8?...?=) to text."""
    if value is None:
        return ""
    try:
        return str(make_header(decode_header(value)))
    except (ValueError, LookupError):
        return str(value)


class SmtpHandler:
    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        # original_content: the bytes as received (after SMTP dot-unstuffing), never re-encoded.
        raw = envelope.original_content or envelope.content
        peer = str(session.peer[0]) if session.peer else ""
        msg_id = self.mailbox.save(raw, envelope.mail_from, list(envelope.rcpt_tos), peer)
        log.info("stored %s from=%s to=%s", msg_id, envelope.mail_from, envelope.rcpt_tos)
        return "250 Message accepted for delivery"


def accept_any_login(
    server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
) -> AuthResult:
    # A client configured with SMTP credentials must work here too; nothing is checked locally.
    return AuthResult(success=True)


def make_http_handler(mailbox: Mailbox) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "local-mailbox/1"

        def log_message(self, format: str, *args: Any) -> None:
            # Tests poll the API; keep those lines out of the log unless debugging.
            log.debug("http %s " + format, self.client_address[0], *args)

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _json(self, data: Any, status: int = HTTPStatus.OK) -> None:
            self._send(status, json.dumps(data).encode(), "application/json")

        def _not_found(self) -> None:
            self._json({"detail": "not found"}, HTTPStatus.NOT_FOUND)

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            parts = [p for p in url.path.split("/") if p]
            if parts == []:
                self._send(HTTPStatus.OK, self._html().encode(), "text/html; charset=utf-8")
            elif parts == ["health"]:
                # What infra.sh waits on: it answers at once, however many messages are kept
                # (listing them reads every one: seconds, with thousands).
                self._json({"status": "ok"})
            elif parts == ["api", "messages"]:
                wanted = [t.lower() for t in parse_qs(url.query).get("to", [])]
                items = [s for s in map(mailbox.summary, mailbox.ids()) if s is not None]
                if wanted:
                    items = [s for s in items if any(t.lower() in wanted for t in s["to"])]
                self._json(items)
            elif len(parts) == 3 and parts[:2] == ["api", "messages"]:
                raw = mailbox.raw(parts[2])
                if raw is None:
                    self._not_found()
                else:
                    self._send(HTTPStatus.OK, raw, "message/rfc822")
            else:
                self._not_found()

        do_HEAD = do_GET

        def do_DELETE(self) -> None:
            parts = [p for p in urlsplit(self.path).path.split("/") if p]
            if parts == ["api", "messages"]:
                n = mailbox.delete()
                log.info("mailbox emptied (%d messages)", n)
                self._json({"deleted": n})
            elif len(parts) == 3 and parts[:2] == ["api", "messages"]:
                n = mailbox.delete(parts[2])
                if n:
                    self._json({"deleted": n})
                else:
                    self._not_found()
            else:
                self._not_found()

        def _html(self) -> str:
            rows = []
            for s in reversed([s for s in map(mailbox.summary, mailbox.ids()) if s]):
                e = {k: html.escape(str(v)) for k, v in s.items()}
                to = html.escape(", ".join(s["to"]))
                subject = e["subject"] or "(no subject)"
                rows.append(
                    f"<tr><td>{e['received_at']}</td><td>{e['from']}</td><td>{to}</td>"
                    f'<td><a href="/api/messages/{e["id"]}">{subject}</a></td>'
                    f"<td>{e['size']}</td></tr>"
                )
            body = "\n".join(rows) or '<tr><td colspan="5">No messages.</td></tr>'
            return (
                "<!doctype html><html><head><meta charset='utf-8'><title>Local mailbox</title>"
                "<style>body{font-family:sans-serif}td,th{padding:2px 8px;text-align:left}</style>"
                f"</head><body><h1>Local mailbox</h1><p>{html.escape(str(mailbox.dir))}</p>"
                "<table><tr><th>Received (UTC)</th><th>From</th><th>To</th><th>Subject</th>"
                f"<th>Bytes</th></tr>\n{body}\n</table></body></html>"
            )

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--dir", type=Path, required=True, help="folder that receives the .eml files"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--smtp-port", type=int, default=int(os.environ.get("SMTP_PORT", "2525")))
    parser.add_argument(
        "--http-port", type=int, default=int(os.environ.get("MAILBOX_HTTP_PORT", "8025"))
    )
    args = parser.parse_args()

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # aiosmtpd logs every connection and command at INFO (every readiness probe too);
    # the "stored ..." line of each message is what matters here.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    mailbox = Mailbox(args.dir.resolve())

    smtp = Controller(
        SmtpHandler(mailbox),
        hostname=args.host,
        port=args.smtp_port,
        authenticator=accept_any_login,
        auth_require_tls=False,
        enable_SMTPUTF8=True,
        data_size_limit=50 * 1024 * 1024,
    )
    httpd = ThreadingHTTPServer((args.host, args.http_port), make_http_handler(mailbox))
    httpd.daemon_threads = True

    # serve_forever runs in a thread: shutdown() must come from another thread than the
    # serving one, and the main thread is where SIGTERM/SIGINT are delivered.
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    smtp.start()
    http_thread = threading.Thread(target=httpd.serve_forever, name="http", daemon=True)
    http_thread.start()
    log.info(
        "mailbox ready: smtp://%s:%d http://%s:%d dir=%s",
        args.host,
        args.smtp_port,
        args.host,
        args.http_port,
        mailbox.dir,
    )
    stop.wait()
    log.info("stopping")
    httpd.shutdown()
    httpd.server_close()
    smtp.stop()


if __name__ == "__main__":
    main()
