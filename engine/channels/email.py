"""Email: render a template for one profile into a MIME message, and the file outbox.

The outbox writes each message as an `.eml` file named after its delivery, the embedded
default: nothing leaves the machine, and every email can be opened in any mail client. The
Message-ID (set by engine.channels.compose) is derived from the delivery id, so a resend
after a crash is recognisable.
"""

from __future__ import annotations

import email.policy
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, parseaddr
from pathlib import Path
from typing import Any

from engine.catalog.catalog import Catalog
from engine.catalog.templates import EmailTemplate, render_context, render_email
from engine.channels.base import Message, SendResult
from engine.channels.compose import compose
from engine.channels.links import Links


class NotDeliverable(Exception):
    """The delivery can never be sent (no address, template gone): skip it with a reason."""


@dataclass(frozen=True)
class EmailOptions:
    """Deployment settings every email needs (links back to this Parcours, and the
    right-hand part of its Message-IDs: `message_id_suffix`)."""

    public_url: str
    link_secret: str
    unsubscribe_mailto: str
    message_id_suffix: str


def localized(templates: Mapping[str, EmailTemplate], name: str, locale: Any) -> EmailTemplate:
    """`welcome.fr-CA`, else `welcome.fr`, else `welcome`, by the profile's `locale` trait."""
    if isinstance(locale, str) and locale:
        tag = locale.replace("_", "-")
        for candidate in (f"{name}.{tag}", f"{name}.{tag.split('-')[0].lower()}"):
            if candidate in templates:
                return templates[candidate]
    found = templates.get(name)
    if found is None:
        raise NotDeliverable(f"template '{name}' is no longer in the catalog")
    return found


def render_message(
    catalog: Catalog,
    options: EmailOptions,
    delivery_id: int,
    template: str,
    user_id: str,
    traits: dict[str, Any],
    *,
    tracking: bool = False,
) -> Message:
    email = traits.get("email")
    if not isinstance(email, str) or "@" not in email:
        raise NotDeliverable("no email address")
    chosen = localized(catalog.templates, template, traits.get("locale"))
    rendered = render_email(catalog.email_environment, chosen, render_context(user_id, traits))
    return compose(
        rendered,
        delivery_id=delivery_id,
        recipient=email,
        links=Links(options.public_url, options.link_secret, delivery_id, email),
        unsubscribe_mailto=options.unsubscribe_mailto,
        message_id_suffix=options.message_id_suffix,
        tracking=tracking,
    )


# RFC 5322 allows 998-character lines; folding at 78 would RFC 2047-encode the long signed
# URLs in List-Unsubscribe, which mailbox providers then cannot use.
POLICY = email.policy.compat32.clone(max_line_length=998, linesep="\r\n")


def message_id_suffix(install_id: str, sender: str) -> str:
    """`<install id>@<sender's domain>`: delivery ids never repeat within a database and the
    install id differs between databases (a reset included), so no two emails share one."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "parcours.local"
    return f"{install_id}@{domain}"


def to_mime(message: Message, sender: str, sent_at: Any) -> MIMEMultipart:
    """multipart/alternative (text, then HTML), built with the compat32 classes: the
    policy-based EmailMessage spent more time parsing our own headers than rendering."""
    mime = MIMEMultipart("alternative", policy=POLICY)
    mime["From"] = sender
    mime["To"] = message.recipient
    mime["Subject"] = (
        str(Header(message.subject, "utf-8")) if not message.subject.isascii() else message.subject
    )
    mime["Date"] = format_datetime(sent_at)
    for name, value in message.headers.items():
        mime[name] = value
    mime.attach(MIMEText(message.text or message.subject, "plain", "utf-8", policy=POLICY))
    if message.html:
        mime.attach(MIMEText(message.html, "html", "utf-8", policy=POLICY))
    return mime


class OutboxTransport:
    """Writes `<outbox>/<delivery id>.eml`, atomically (write, then rename)."""

    def __init__(self, directory: Path, sender: str, clock: Any) -> None:
        self.directory = directory
        self.sender = sender
        self.clock = clock

    def send(self, message: Message) -> SendResult:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            data = to_mime(message, self.sender, self.clock.now()).as_bytes()
            fd, tmp = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            target = self.directory / f"{message.delivery_id}.eml"
            os.replace(tmp, target)
        except OSError as exc:
            return SendResult("retry", f"outbox write failed: {exc}")
        return SendResult("sent", str(target))
