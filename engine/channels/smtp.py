"""SMTP transport: STARTTLS on 587 (or TLS from the start with smtps://), optional AUTH.

4xx answers and connection failures are transient (retried); 5xx answers are permanent and
recorded with the server's words.
"""

from __future__ import annotations

import smtplib
import ssl
from typing import Any
from urllib.parse import unquote, urlsplit

from engine.channels.base import Message, SendResult
from engine.channels.email import to_mime
from engine.config import SMTP_URL_FORM, is_smtp_url


class SmtpTransport:
    def __init__(
        self,
        url: str,
        sender: str,
        clock: Any,
        *,
        timeout: float = 15.0,
        context: ssl.SSLContext | None = None,
    ) -> None:
        if not is_smtp_url(url):
            raise ValueError(SMTP_URL_FORM)
        parts = urlsplit(url)
        assert parts.hostname  # is_smtp_url checked it
        self.host = parts.hostname
        self.tls = parts.scheme == "smtps"
        self.port = parts.port or (465 if self.tls else 587)
        self.user = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.sender = sender
        self.clock = clock
        self.timeout = timeout
        self.context = context or ssl.create_default_context()

    def send(self, message: Message) -> SendResult:
        mime = to_mime(message, self.sender, self.clock.now())
        try:
            with self._connect() as smtp:
                if self.user is not None:
                    smtp.login(self.user, self.password or "")
                smtp.send_message(mime)
        except smtplib.SMTPResponseException as exc:
            detail = f"SMTP {exc.smtp_code}: {_text(exc.smtp_error)}"
            return SendResult("failed" if exc.smtp_code >= 500 else "retry", detail)
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            return SendResult("failed" if code >= 500 else "retry", f"SMTP {code}: {_text(text)}")
        except (smtplib.SMTPException, OSError) as exc:
            return SendResult("retry", f"{type(exc).__name__}: {exc}")
        return SendResult("sent", f"accepted by {self.host}")

    def _connect(self) -> smtplib.SMTP:
        if self.tls:
            return smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=self.context
            )
        smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        smtp.ehlo()
        if smtp.has_extn("starttls"):
            smtp.starttls(context=self.context)
            smtp.ehlo()
        elif self.user is not None:
            smtp.close()
            raise smtplib.SMTPNotSupportedError("server offers no STARTTLS; refusing to log in")
        return smtp


def _text(value: bytes | str) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else value
