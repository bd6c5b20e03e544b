"""The bad-input corpus: each case a request, what it exercises and what must come of it.

Items are raw JSON text, so that literals no encoder writes (NaN, `\\ud800` escapes, 1e400,
nesting past orjson's limit) reach the server as a fuzzer would send them.
"""

from __future__ import annotations

import base64
import gzip
from dataclasses import dataclass, field
from typing import Any

from tests.conftest import ADMIN_KEY, WRITE_KEY

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
BASIC = "Basic " + base64.b64encode(f"{WRITE_KEY}:".encode()).decode()


def good(n: int) -> str:
    return f'{{"type":"track","userId":"good","event":"signed_up","messageId":"good-{n}"}}'


def batch(*items: str, extra: str = "") -> bytes:
    """A batch with the raw JSON `items` between two good messages (the bad one is [1])."""
    return f'{{"batch":[{",".join([good(1), *items, good(2)])}]{extra}}}'.encode()


def track(body: str) -> str:
    """A track item with `body` spliced in: raw JSON fields, e.g. '"userId":"u"'."""
    return f'{{"type":"track","messageId":"odd","event":"e","userId":"odd",{body}}}'


def nest(levels: int, leaf: str = "1") -> str:
    return '{"a":' * levels + leaf + "}" * levels


@dataclass(frozen=True)
class Case:
    name: str
    what: str
    content: bytes
    status: int = 400
    stored: int = 2  # events in the database afterwards
    dead: int = 1  # dead letters afterwards
    names: str | None = None  # the field the first error names
    path: str = "/v1/batch"
    method: str = "POST"
    headers: dict[str, Any] = field(default_factory=lambda: {"Authorization": BASIC})


def bad_item(name: str, what: str, item: str, field_name: str | None) -> Case:
    return Case(name, what, batch(item), names=field_name)


def accepted(name: str, what: str, item: str) -> Case:
    return Case(name, what, batch(item), status=200, stored=3, dead=0)


def whole(name: str, what: str, content: bytes, field_name: str | None = None) -> Case:
    """A body refused as a whole: nothing stored, the body kept as one dead letter."""
    return Case(name, what, content, stored=0, names=field_name)


def other(name: str, what: str, path: str, status: int, **kwargs: Any) -> Case:
    """A request to another route: it stores nothing and keeps nothing."""
    kwargs.setdefault("method", "GET")
    kwargs.setdefault("headers", ADMIN)
    kwargs.setdefault("content", b"")
    return Case(name, what, status=status, stored=0, dead=0, path=path, **kwargs)


def single(name: str, what: str, path: str, body: str, field_name: str | None) -> Case:
    """A single call (`/v1/track` ...): refused, kept as one dead letter."""
    return Case(name, what, body.encode(), stored=0, names=field_name, path=path)


def new_webhook(name: str, what: str, body: str) -> Case:
    """An admin JSON body FastAPI parses: refused as a whole, naming `body`."""
    headers = {**ADMIN, "Content-Type": "application/json"}
    return other(
        name,
        what,
        "/v1/webhooks/endpoints",
        400,
        method="POST",
        headers=headers,
        content=body.encode(),
        names="body",
    )


DEPTH = [
    accepted(
        "depth 64",
        "the deepest message allowed (MAX_DEPTH levels)",
        track(f'"properties":{nest(63)}'),
    ),
    bad_item(
        "depth 65",
        "one level too deep",
        track(f'"properties":{nest(64)}'),
        "batch[1].properties" + ".a" * 63,
    ),
    bad_item(
        "depth 255 properties",
        "past orjson's write limit",
        track(f'"properties":{nest(254)}'),
        "batch[1].properties" + ".a" * 63,
    ),
    bad_item(
        "depth 300 traits",
        "deep identify traits",
        f'{{"type":"identify","userId":"odd","traits":{nest(299)}}}',
        "batch[1].traits" + ".a" * 63,
    ),
    bad_item(
        "depth 1000 context",
        "orjson reads it; not even stdlib json writes it back",
        track(f'"context":{nest(1000)}'),
        "batch[1].context" + ".a" * 63,
    ),
    bad_item(
        "deep arrays",
        "arrays count as levels too",
        track('"properties":{"x":' + "[" * 200 + "]" * 200 + "}"),
        "batch[1].properties.x" + "[0]" * 62,
    ),
    whole(
        "depth 1100",
        "deeper than any JSON reader goes: not JSON",
        batch(track(f'"properties":{nest(1100)}')),
    ),
    whole(
        "deep batch context",
        "the batch-level context applies to every item",
        batch(extra=f',"context":{nest(100)}'),
        "context" + ".a" * 63,
    ),
]

UNICODE = [
    bad_item(
        "lone high surrogate value",
        "\\ud800 escape in a property",
        track('"properties":{"s":"x\\ud800y"}'),
        "batch[1].properties.s",
    ),
    bad_item(
        "lone low surrogate value",
        "\\udfff escape alone",
        track('"properties":{"s":"\\udfff"}'),
        "batch[1].properties.s",
    ),
    bad_item(
        "lone surrogate key",
        "in a key",
        track('"properties":{"k\\ud800":1}'),
        "batch[1].properties.k\\ud800",
    ),
    bad_item(
        "lone surrogate event",
        "in the event name",
        '{"type":"track","userId":"odd","event":"\\ud800"}',
        "batch[1].event",
    ),
    bad_item(
        "lone surrogate userId",
        "in an id",
        '{"type":"track","userId":"\\ud800","event":"e"}',
        "batch[1].userId",
    ),
    bad_item(
        "NUL value",
        "PostgreSQL text and jsonb cannot hold NUL",
        track('"properties":{"s":"a\\u0000b"}'),
        "batch[1].properties.s",
    ),
    bad_item(
        "NUL key",
        "NUL in a key",
        track('"properties":{"a\\u0000b":1}'),
        "batch[1].properties.a\\u0000b",
    ),
    bad_item(
        "NUL nested key",
        "NUL in a key deep in context",
        track('"context":{"x":[{"y":{"\\u0000":1}}]}'),
        "batch[1].context.x[0].y.\\u0000",
    ),
    bad_item(
        "NUL event",
        "NUL in the event name",
        '{"type":"track","userId":"odd","event":"e\\u0000"}',
        "batch[1].event",
    ),
    bad_item(
        "NUL userId",
        "NUL in userId",
        '{"type":"track","userId":"\\u0000","event":"e"}',
        "batch[1].userId",
    ),
    bad_item(
        "NUL messageId", "NUL in messageId", track('"messageId":"m\\u0000"'), "batch[1].messageId"
    ),
    bad_item(
        "NUL trait",
        "NUL in identify traits",
        '{"type":"identify","userId":"odd","traits":{"plan":"\\u0000"}}',
        "batch[1].traits.plan",
    ),
    whole(
        "NUL batch context",
        "in the shared context",
        batch(extra=',"context":{"k":"\\u0000"}'),
        "context.k",
    ),
    accepted(
        "RTL",
        "right-to-left text and an override mark",
        '{"type":"track","userId":"مستخدم","event":"تسجيل\u202e","messageId":"rtl"}',
    ),
    accepted(
        "emoji",
        "emoji with ZWJ sequences in ids and keys",
        '{"type":"track","userId":"👩‍💻","event":"🚀","messageId":"🆔","properties":{"🔑":"👍🏽"}}',
    ),
    accepted(
        "surrogate pair",
        "a valid \\ud83d\\ude00 pair is one emoji",
        track('"properties":{"s":"\\ud83d\\ude00"}'),
    ),
    accepted(
        "huge unicode",
        "30,000 CJK characters in a property",
        track('"properties":{"s":"' + "漢" * 30_000 + '"}'),
    ),
    accepted(
        "combining marks",
        "zalgo text and a BOM inside a string",
        track('"properties":{"s":"' + "e\u0301\u0302\u0303" * 50 + '\ufeff"}'),
    ),
    Case(
        "NUL single call",
        "NUL in /v1/track",
        b'{"userId":"u","event":"e\\u0000"}',
        stored=0,
        names="event",
        path="/v1/track",
    ),
    whole("invalid UTF-8", "bytes that are not UTF-8", b'{"batch":[{"userId":"\xff\xfe"}]}'),
    whole("raw NUL byte", "a NUL byte outside any string", b'{"batch":[]}\x00'),
    Case(
        "BOM", "a byte-order mark is read past (stdlib json)", b"\xef\xbb\xbf" + batch(), 200, 2, 0
    ),
]

TIMES = [
    bad_item(
        "year 1",
        "before the range",
        track('"timestamp":"0001-01-01T00:00:00Z"'),
        "batch[1].timestamp",
    ),
    bad_item(
        "year 9999",
        "after the range",
        track('"timestamp":"9999-12-31T00:00:00Z"'),
        "batch[1].timestamp",
    ),
    bad_item(
        "year 1 at +14:00",
        "its UTC form is before year 1",
        track('"timestamp":"0001-01-01T00:00:00+14:00"'),
        "batch[1].timestamp",
    ),
    bad_item(
        "year 9999 at -12:00",
        "its UTC form is after year 9999",
        track('"originalTimestamp":"9999-12-31T23:00:00-12:00"'),
        "batch[1].originalTimestamp",
    ),
    bad_item(
        "sentAt year 1 at +14:00",
        "per-item sentAt out of range",
        track('"sentAt":"0001-01-01T00:00:00+14:00"'),
        "batch[1].sentAt",
    ),
    accepted(
        "skew into the future",
        "sentAt 1970, event 2099: clamped to the receive time",
        track('"timestamp":"2099-12-31T00:00:00Z","sentAt":"1970-01-01T00:00:00Z"'),
    ),
    accepted(
        "skew into the past",
        "sentAt 2099, event 1970: clamped to 1970",
        track('"timestamp":"1970-01-01T00:00:00Z","sentAt":"2099-12-31T00:00:00Z"'),
    ),
    accepted(
        "future event",
        "no sentAt, year 2090: clamped to the receive time",
        track('"timestamp":"2090-01-01T00:00:00Z"'),
    ),
    whole(
        "batch sentAt 9999",
        "the batch-level sentAt applies to every item",
        batch(extra=',"sentAt":"9999-12-31T23:59:59Z"'),
        "sentAt",
    ),
    bad_item(
        "timestamp 1e20",
        "a number far out of range",
        track('"timestamp":1e20'),
        "batch[1].timestamp",
    ),
    bad_item("timestamp true", "a boolean", track('"timestamp":true'), "batch[1].timestamp"),
    bad_item("timestamp object", "an object", track('"timestamp":{}'), "batch[1].timestamp"),
    bad_item(
        "timestamp naive",
        "no offset",
        track('"timestamp":"2026-03-01T10:00:00"'),
        "batch[1].timestamp",
    ),
    bad_item("timestamp empty", "an empty string", track('"timestamp":""'), "batch[1].timestamp"),
    bad_item(
        "February 30",
        "a date that does not exist",
        track('"timestamp":"2026-02-30T00:00:00Z"'),
        "batch[1].timestamp",
    ),
    bad_item(
        "timestamp NaN", "a NaN literal as a time", track('"timestamp":NaN'), "batch[1].timestamp"
    ),
]

NUMBERS = [
    bad_item(
        "NaN",
        "a NaN literal (orjson refuses the whole body)",
        track('"properties":{"x":NaN}'),
        "batch[1].properties.x",
    ),
    bad_item(
        "Infinity",
        "an Infinity literal",
        track('"properties":{"x":Infinity}'),
        "batch[1].properties.x",
    ),
    bad_item(
        "-Infinity",
        "a -Infinity literal",
        track('"properties":{"x":[-Infinity]}'),
        "batch[1].properties.x[0]",
    ),
    bad_item(
        "1e400",
        "a float beyond double range",
        track('"properties":{"x":1e400}'),
        "batch[1].properties.x",
    ),
    bad_item(
        "5000 digits",
        "an integer too long even for a double",
        track('"properties":{"x":' + "9" * 5000 + "}"),
        "batch[1].properties.x",
    ),
    accepted(
        "2^64",
        "an integer beyond 64 bits is read as a float",
        track('"properties":{"x":18446744073709551616}'),
    ),
    accepted(
        "-2^63-1", "below the signed 64-bit range", track('"properties":{"x":-9223372036854775809}')
    ),
    accepted(
        "userId beyond 64 bits",
        "a numeric id is taken as a string",
        '{"type":"track","userId":123456789012345678901234567890,"event":"e"}',
    ),
    bad_item(
        "userId NaN", "NaN as an id", '{"type":"track","userId":NaN,"event":"e"}', "batch[1].userId"
    ),
]

SHAPES = [
    bad_item("number item", "a bare number as a batch item", "5", "batch[1]"),
    bad_item("float item", "a bare float", "1.5", "batch[1]"),
    bad_item("string item", "a bare string", '"track"', "batch[1]"),
    bad_item("null item", "null", "null", "batch[1]"),
    bad_item("array item", "an array", '[{"type":"track"}]', "batch[1]"),
    bad_item("bool item", "true", "true", "batch[1]"),
    bad_item("empty item", "an empty object", "{}", "batch[1].type"),
    whole("batch number", "batch is a number", b'{"batch":5}', "batch"),
    whole("batch null", "batch is null", b'{"batch":null}', "batch"),
    whole("batch missing", "no batch at all", b'{"sentAt":"2026-03-01T00:00:00Z"}', "batch"),
    whole("body array", "a JSON array body", b"[1,2]"),
    whole("body number", "a JSON number body", b"5"),
    whole("body null", "a JSON null body", b"null"),
    whole("body empty", "no body", b""),
    Case("empty batch", "nothing to store is a success", b'{"batch":[]}', 200, 0, 0),
    whole("body only spaces", "whitespace", b"   "),
]

TYPES = [
    bad_item("type number", "type is 5", '{"type":5,"userId":"odd"}', "batch[1].type"),
    bad_item("type unknown", "type is foo", '{"type":"foo","userId":"odd"}', "batch[1].type"),
    bad_item(
        "type huge", "a 10,000-character type", '{"type":"' + "x" * 10_000 + '"}', "batch[1].type"
    ),
    bad_item(
        "event object",
        "event is {}",
        '{"type":"track","userId":"odd","event":{}}',
        "batch[1].event",
    ),
    bad_item(
        "event bool",
        "event is true",
        '{"type":"track","userId":"odd","event":true}',
        "batch[1].event",
    ),
    bad_item(
        "properties string",
        "properties is a string",
        track('"properties":"x"'),
        "batch[1].properties",
    ),
    bad_item(
        "properties array",
        "properties is an array",
        track('"properties":[1]'),
        "batch[1].properties",
    ),
    bad_item(
        "properties null", "properties is null", track('"properties":null'), "batch[1].properties"
    ),
    bad_item(
        "traits number",
        "traits is 5",
        '{"type":"identify","userId":"odd","traits":5}',
        "batch[1].traits",
    ),
    bad_item("context string", "context is a string", track('"context":"x"'), "batch[1].context"),
    bad_item(
        "userId object",
        "userId is {}",
        '{"type":"track","userId":{},"event":"e"}',
        "batch[1].userId",
    ),
    bad_item(
        "anonymousId array",
        "anonymousId is []",
        '{"type":"track","anonymousId":[],"event":"e"}',
        "batch[1].anonymousId",
    ),
    bad_item("messageId object", "messageId is {}", track('"messageId":{}'), "batch[1].messageId"),
    bad_item(
        "group without groupId",
        "a required field missing",
        '{"type":"group","userId":"odd"}',
        "batch[1].groupId",
    ),
    bad_item(
        "alias without previousId",
        "a required field missing",
        '{"type":"alias","userId":"odd"}',
        "batch[1].previousId",
    ),
    bad_item(
        "page name object",
        "name is {}",
        '{"type":"page","userId":"odd","name":{}}',
        "batch[1].name",
    ),
    bad_item(
        "userId empty", "an empty id", '{"type":"track","userId":"","event":"e"}', "batch[1].userId"
    ),
    bad_item(
        "event empty",
        "an empty event name",
        '{"type":"track","userId":"odd","event":""}',
        "batch[1].event",
    ),
    bad_item(
        "messageId empty", "an empty messageId", track('"messageId":""'), "batch[1].messageId"
    ),
    bad_item(
        "no ids",
        "neither userId nor anonymousId",
        '{"type":"track","event":"e"}',
        "batch[1].userId",
    ),
    bad_item(
        "userId too long",
        "256 characters",
        '{"type":"track","userId":"' + "u" * 256 + '","event":"e"}',
        "batch[1].userId",
    ),
    bad_item(
        "messageId too long",
        "256 characters",
        track('"messageId":"' + "m" * 256 + '"'),
        "batch[1].messageId",
    ),
    bad_item(
        "event too long",
        "256 characters",
        '{"type":"track","userId":"odd","event":"' + "e" * 256 + '"}',
        "batch[1].event",
    ),
    Case(
        "duplicate messageIds",
        "the same message twice in one batch is stored once",
        batch(good(1)),
        200,
        2,
        0,
    ),
]

HTTP = [
    Case(
        "text/plain",
        "sendBeacon's content type carries JSON too",
        batch(),
        200,
        2,
        0,
        headers={"Authorization": BASIC, "Content-Type": "text/plain"},
    ),
    whole("form body", "a urlencoded form is not JSON", b"batch=1"),
    whole(
        "multipart",
        "a multipart body is not JSON",
        b'--x\r\nContent-Disposition: form-data; name="batch"\r\n\r\n1\r\n--x--\r\n',
    ),
    Case(
        "brotli",
        "an encoding Parcours does not read",
        batch(),
        400,
        0,
        0,
        headers={"Authorization": BASIC, "Content-Encoding": "br"},
    ),
    Case(
        "gzip bomb",
        "expands past the 4 MB limit",
        gzip.compress(b" " * (5 << 20)),
        413,
        0,
        0,
        headers={"Authorization": BASIC, "Content-Encoding": "gzip"},
    ),
    Case(
        "bearer on ingestion",
        "not the write key's scheme",
        batch(),
        401,
        0,
        0,
        headers={"Authorization": "Bearer x"},
    ),
    Case(
        "basic not UTF-8",
        "credentials that do not decode",
        batch(),
        401,
        0,
        0,
        headers={"Authorization": "Basic " + base64.b64encode(b"\xff:").decode()},
    ),
    Case(
        "basic non-ASCII",
        "base64 refuses non-ASCII text with a plain ValueError",
        batch(),
        401,
        0,
        0,
        headers={"Authorization": "Basic é".encode()},
    ),
    other(
        "inapp basic non-ASCII",
        "the same credentials on the in-app route",
        "/v1/inapp/good",
        401,
        headers={"Authorization": "Basic ü==".encode()},
    ),
    Case(
        "writeKey surrogate",
        "a body write key with a lone surrogate",
        b'{"writeKey":"\\ud800","batch":[]}',
        401,
        0,
        0,
        headers={},
    ),
    Case(
        "writeKey number",
        "a body write key that is a number",
        b'{"writeKey":5,"batch":[]}',
        401,
        0,
        0,
        headers={},
    ),
    Case(
        "writeKey non-ASCII",
        "a body write key in Greek",
        '{"writeKey":"κλειδί","batch":[]}'.encode(),
        401,
        0,
        0,
        headers={},
    ),
]

OTHER_ROUTES = [
    other("GET batch", "a method the route does not take", "/v1/batch", 405),
    other(
        "user hash non-ASCII",
        "hmac.compare_digest refuses non-ASCII str",
        "/v1/inapp/good",
        401,
        headers={"Authorization": BASIC, "X-User-Hash": "é".encode()},
    ),
    other(
        "user hash query",
        "the same in the query",
        "/v1/inapp/good?user_hash=%C3%A9",
        401,
        headers={"Authorization": BASIC},
    ),
    other(
        "cookie non-ASCII",
        "a dashboard cookie no server issued",
        "/dashboard/funnel",
        303,
        headers={"Cookie": "parcours_dashboard=1.a.é".encode()},
    ),
    other("cursor superscript", "'²'.isdigit() is true", "/v1/dead-letters?cursor=%C2%B2", 400),
    other("cursor 2^64", "beyond a 64-bit id", "/v1/dead-letters?cursor=18446744073709551616", 400),
    other("cursor negative", "a sign", "/v1/dead-letters?cursor=-1", 400),
    other(
        "events cursor huge",
        "beyond 64 bits",
        "/v1/profiles/good/events?cursor=99999999999999999999",
        400,
    ),
    other(
        "limit huge",
        "a page size beyond 64 bits",
        "/v1/dead-letters?limit=18446744073709551616",
        400,
    ),
    other(
        "inapp item 2^64",
        "a path id beyond 64 bits is a name, and names no item",
        "/v1/inapp/good/18446744073709551616/seen",
        404,
        method="POST",
    ),
    other(
        "inapp item superscript",
        "a superscript is a name, and names no item",
        "/v1/inapp/good/%C2%B9/seen",
        404,
        method="POST",
    ),
    other(
        "inapp item name too long",
        "an item name beyond 64 characters",
        "/v1/inapp/good/" + "x" * 65 + "/seen",
        400,
        method="POST",
    ),
    other(
        "webhook endpoint 2^64",
        "names no endpoint",
        "/v1/webhooks/endpoints/18446744073709551616",
        404,
    ),
    other(
        "webhook endpoint superscript", "names no endpoint", "/v1/webhooks/endpoints/%C2%B2", 404
    ),
    other(
        "webhook cursor superscript", "'²'.isdigit()", "/v1/webhooks/messages?cursor=%C2%B2", 400
    ),
    other("NUL in profile id", "a path parameter with NUL", "/v1/profiles/a%00b", 400),
    other("NUL in query", "a query parameter with NUL", "/v1/dead-letters?cursor=%00", 400),
    other("NUL in query name", "a query parameter name with NUL", "/v1/dead-letters?a%00=1", 400),
    other(
        "NUL in experiment key", "a path parameter with NUL", "/v1/experiments/a%00/results", 400
    ),
    other(
        "days beyond 64 bits",
        "a dashboard period no one offers",
        "/dashboard/funnel?days=99999999999999999999999",
        303,
    ),
    new_webhook(
        "webhook NUL",
        "NUL in an admin body",
        '{"url":"https://a.example/h","description":"\\u0000"}',
    ),
    new_webhook(
        "webhook surrogate",
        "a lone surrogate in an admin body",
        '{"url":"https://a.example/h","events":["\\udc00"]}',
    ),
]

SINGLE_CALLS = [
    single(
        "identify too deep",
        "nesting in a single call",
        "/v1/identify",
        f'{{"userId":"u","traits":{nest(80)}}}',
        "traits" + ".a" * 63,
    ),
    single(
        "page NaN",
        "a NaN literal in a single call",
        "/v1/page",
        '{"userId":"u","properties":{"x":NaN}}',
        "properties.x",
    ),
    single(
        "alias year 9999",
        "a time out of range in a single call",
        "/v1/alias",
        '{"userId":"u","previousId":"p","timestamp":"9999-01-01T00:00:00Z"}',
        "timestamp",
    ),
    single(
        "group surrogate",
        "a lone surrogate in a single call",
        "/v1/group",
        '{"userId":"u","groupId":"g\\ud800"}',
        "groupId",
    ),
    single(
        "screen no ids", "neither userId nor anonymousId", "/v1/screen", '{"name":"s"}', "userId"
    ),
    Case("track body number", "a single call that is a number", b"7", stored=0, path="/v1/track"),
]

CORPUS = DEPTH + UNICODE + TIMES + NUMBERS + SHAPES + TYPES + SINGLE_CALLS + HTTP + OTHER_ROUTES
