"""A local SMTP server that keeps every message it receives (aiosmtpd), with a tiny JSON/HTML view.

`python -m devstack.mail --smtp-port 2525 --http-port 8025 --dir .data/mail`
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import email
import email.policy
import json
import threading
import uuid
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass
class Received:
    id: str
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "from": self.mail_from,
            "to": self.rcpt_tos,
            "subject": str(self.message.get("Subject", "")),
            "message_id": str(self.message.get("Message-ID", "")),
        }


@dataclass
class Mailbox:
    """The aiosmtpd handler: accepts everything, keeps it in memory and (optionally) on disk as .eml.

    `reject` lets a test refuse recipients: a set of addresses answered 550 (permanent failure).
    """

    directory: Path | None = None
    messages: list[Received] = field(default_factory=list)
    reject: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if address.lower() in self.reject:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        assert isinstance(raw, bytes)
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        item = Received(uuid.uuid4().hex, str(envelope.mail_from), list(envelope.rcpt_tos), msg)
        with self.lock:
            self.messages.append(item)
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True)
            (self.directory / f"{item.id}.eml").write_bytes(raw)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Received]:
        with self.lock:
            return [m for m in self.messages if address in m.rcpt_tos]


def start_smtp(mailbox: Mailbox, port: int, host: str = "127.0.0.1") -> Controller:
    controller = Controller(mailbox, hostname=host, port=port)
    controller.start()
    return controller


def _http_handler(mailbox: Mailbox) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, body: bytes, ctype: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            with mailbox.lock:
                items = list(mailbox.messages)
            if self.path.startswith("/api/messages/"):
                wanted = self.path.rsplit("/", 1)[-1]
                found = next((m for m in items if m.id == wanted), None)
                if found is None:
                    self._send(404, b'{"detail":"no such message"}', "application/json")
                    return
                body_part = found.message.get_body(("plain",))
                text = body_part.get_content() if body_part is not None else ""
                payload = {**found.summary(), "text": text}
                self._send(200, json.dumps(payload).encode(), "application/json")
            elif self.path.startswith("/api/messages"):
                self._send(200, json.dumps([m.summary() for m in items]).encode(), "application/json")
            else:
                rows = "".join(
                    f"<tr><td>{', '.join(m.rcpt_tos)}</td><td><a href='/api/messages/{m.id}'>"
                    f"{m.summary()['subject']}</a></td></tr>"
                    for m in reversed(items)
                )
                page = f"<html><body><h1>Parity mail catcher</h1><table>{rows}</table></body></html>"
                self._send(200, page.encode(), "text/html; charset=utf-8")

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--smtp-port", type=int, default=2525)
    parser.add_argument("--http-port", type=int, default=8025)
    parser.add_argument("--dir", type=Path, default=Path(".data/mail"))
    args = parser.parse_args()
    mailbox = Mailbox(directory=args.dir)
    start_smtp(mailbox, args.smtp_port)
    server = ThreadingHTTPServer(("127.0.0.1", args.http_port), _http_handler(mailbox))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(asyncio.Event().wait())


if __name__ == "__main__":
    main()
