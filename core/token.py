"""Personal link tokens: derived from the server secret, so only their hash needs storing.

token = HMAC-SHA256(secret, "link" | request id | nonce), 192 bits, URL-safe. The nonce (128 bits from
``secrets``) lives on the request; a new nonce revokes the old link. With the secret outside the
database, a copy of the database reveals no working link.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

TOKEN_BYTES = 24  # 192 bits


def link_token(secret: bytes, request_id: int, nonce: str) -> str:
    digest = hmac.new(secret, f"link\x1f{request_id}\x1f{nonce}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:TOKEN_BYTES]).decode("ascii").rstrip("=")


def token_hash(token: str) -> str:
    """What the database keeps: the sha256 of the token, hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def looks_like_token(text: str) -> bool:
    """Cheap shape check before any lookup (32 URL-safe characters)."""
    return len(text) == 32 and all(c.isalnum() or c in "-_" for c in text)
