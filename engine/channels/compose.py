"""From a rendered template to a deliverable email: what mailbox providers require.

- CSS inlined into the HTML (many clients drop `<style>`), by css-inline.
- A text part: the template's own, or one derived from the HTML.
- Unsubscribe: a visible link in both parts, and exactly one `List-Unsubscribe` header with
  the https one-click URL and a mailto, plus `List-Unsubscribe-Post:
  List-Unsubscribe=One-Click` (RFC 8058), which Gmail and Yahoo require of bulk senders.
- Optional tracking: links rewritten to signed click redirects and an open pixel.
- A Message-ID from the delivery id, so a resend after a crash carries the same one and
  receivers can drop it, and the install's suffix, so no other email ever does.
"""

from __future__ import annotations

import re
from html import escape, unescape

import css_inline

from engine.catalog.templates import RenderedEmail
from engine.channels.base import Message
from engine.channels.links import Links
from engine.channels.textify import html_to_text

_HREF = re.compile(r'href="(https?://[^"]+)"')
_INLINER = css_inline.CSSInliner(keep_style_tags=False, load_remote_stylesheets=False)


def compose(
    rendered: RenderedEmail,
    *,
    delivery_id: int,
    recipient: str,
    links: Links,
    unsubscribe_mailto: str,
    message_id_suffix: str,
    tracking: bool = False,
) -> Message:
    unsubscribe = links.unsubscribe()
    html = rendered.html
    if tracking:
        html = _HREF.sub(lambda m: f'href="{escape(links.click(unescape(m.group(1))))}"', html)
    html = _with_footer(html, unsubscribe, links.open_pixel() if tracking else None)
    text = (rendered.text or html_to_text(rendered.html)).rstrip("\n")
    text += f"\n\n--\nUnsubscribe: {unsubscribe}\n"
    return Message(
        delivery_id=delivery_id,
        channel="email",
        recipient=recipient,
        subject=rendered.subject,
        html=_INLINER.inline(html),
        text=text,
        headers={
            "Message-ID": message_id(delivery_id, message_id_suffix),
            "List-Unsubscribe": f"<{unsubscribe}>, <mailto:{unsubscribe_mailto}"
            f"?subject=unsubscribe%20{delivery_id}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )


def message_id(delivery_id: int, suffix: str) -> str:
    """The Message-ID of a delivery's email: the same for every resend of it."""
    return f"<delivery-{delivery_id}.{suffix}>"


def _with_footer(html: str, unsubscribe: str, pixel: str | None) -> str:
    footer = (
        '<p style="font-size:12px;color:#6b7280;margin-top:24px">'
        f'<a href="{escape(unsubscribe)}" style="color:#6b7280">Unsubscribe</a>'
        " from these emails.</p>"
    )
    if pixel is not None:
        footer += f'<img src="{escape(pixel)}" width="1" height="1" alt="" style="display:none">'
    if "</body>" in html:
        return html.replace("</body>", footer + "</body>", 1)
    return html + footer
