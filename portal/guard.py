"""Security for the institutions' page: headers, streamed upload cap, CSRF, an access log without tokens."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import re
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

from usecases.errors import is_unavailable, unavailable_reason

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

TOKEN_IN_PATH = re.compile(r"^/r/[^/]+")
CSRF_VALIDITY_SECONDS = 24 * 3600
access_log = logging.getLogger("portal.access")
error_log = logging.getLogger("portal")

SECURITY_HEADERS = [
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
                                 b"base-uri 'none'; frame-ancestors 'none'"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]

DRAIN_PAUSE_SECONDS = 1.0  # a client that announced too much and sends nothing more gets the 413 then


def scrub(path: str) -> str:
    """A path fit for logs: the personal token replaced."""
    return TOKEN_IN_PATH.sub("/r/***", path)


class BodyTooLarge(Exception):
    pass


class Guard:
    """ASGI middleware: security headers on every answer (no-store on personal pages), a body cap
    enforced while the upload streams in (not after it has been stored), and a scrubbed access log."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, too_large: Callable[[], bytes]) -> None:
        self.app, self.max_body_bytes, self.too_large = app, max_body_bytes, too_large

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        personal = scope["path"].startswith(("/r/", "/intern"))  # never cached: links' pages and the staff area
        status = {"code": 0}
        exceeded = False

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control"]
                headers += SECURITY_HEADERS
                headers.append((b"cache-control", b"no-store" if personal else b"public, max-age=300"))
                message["headers"] = headers
            await send(message)

        async def app_send(message: Message) -> None:
            if not exceeded:  # once over the cap, whatever the app answers is replaced by the 413 page
                await send_with_headers(message)

        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            await self._drain(receive)
            await self._refuse(send_with_headers)
        else:
            received = 0

            async def counting_receive() -> Message:
                nonlocal received, exceeded
                message = await receive()
                if message["type"] == "http.request":
                    received += len(message.get("body", b""))
                    if received > self.max_body_bytes:
                        exceeded = True
                        raise BodyTooLarge
                return message

            try:
                with contextlib.suppress(BodyTooLarge):
                    await self.app(scope, counting_receive, app_send)
            except Exception as exc:  # the app's handler has answered with a German page; log it for staff
                if is_unavailable(exc):
                    error_log.error("%s %s not done, database or disk unavailable: %s", scope["method"],
                                    scrub(scope["path"]), unavailable_reason(exc))
                else:
                    error_log.error("%s %s failed", scope["method"], scrub(scope["path"]), exc_info=exc)
            if exceeded and status["code"] == 0:
                await self._drain(receive)
                await self._refuse(send_with_headers)
        access_log.info('%s %s %s %.0fms', scope["method"], scrub(scope["path"]), status["code"],
                        (time.perf_counter() - started) * 1000)

    async def _drain(self, receive: Receive) -> None:
        """Read and drop (never store) what the client still sends, up to four times the cap and while it keeps
        coming (a second's pause ends it), so a reverse proxy that has the whole upload gets the 413 page instead
        of a closed connection (which it shows as its own "502 Bad Gateway"). Then the connection is closed."""
        drained = 0
        while drained <= 4 * self.max_body_bytes:
            try:
                message = await asyncio.wait_for(receive(), timeout=DRAIN_PAUSE_SECONDS)
            except TimeoutError:
                return
            if message["type"] != "http.request":
                return
            drained += len(message.get("body", b""))
            if not message.get("more_body", False):
                return

    async def _refuse(self, send: Send) -> None:
        body = self.too_large()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"text/html; charset=utf-8"),
                                (b"content-length", str(len(body)).encode()), (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


def csrf_token(secret: bytes, request_id: int, now: float) -> str:
    stamp = str(int(now))
    signature = hmac.new(secret, f"csrf\x1f{request_id}\x1f{stamp}".encode(), hashlib.sha256).hexdigest()
    return f"{stamp}.{signature}"


def csrf_valid(secret: bytes, request_id: int, token: str, now: float) -> bool:
    """Only forms this page gave out for this very link, in the last 24 hours."""
    stamp, _, signature = token.partition(".")
    if not stamp.isdigit() or not 0 <= now - int(stamp) <= CSRF_VALIDITY_SECONDS:
        return False
    expected = hmac.new(secret, f"csrf\x1f{request_id}\x1f{stamp}".encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


def cross_site(headers: dict[str, str]) -> bool:
    """A form posted from another site: browsers say so in Sec-Fetch-Site, or send a foreign Origin."""
    if headers.get("sec-fetch-site", "") in ("cross-site", "same-site"):
        return True
    origin = headers.get("origin")
    if origin is None or origin == "null":
        return False
    return urlsplit(origin).netloc != headers.get("host", "")
