"""One page for several regions: each region's own page under its address's path (or host), links from before
the database held several regions forwarded to their region, and a list of the regions at the root."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from usecases.context import AppContext
from usecases.sandbox import start_readers, stop_readers
from usecases.site import region_of_link, region_sites

_LINK = re.compile(r"^/r/([A-Za-z0-9_-]+)(/.*)?$")


@dataclass(frozen=True)
class Mounted:
    code: str
    name: str
    host: str    # matched only when the region's address names a host of its own ("" otherwise)
    prefix: str  # the path the region's page lives under ("" for the root)
    app: ASGIApp

    def matches(self, host: str, path: str) -> bool:
        if self.host and self.host != host:
            return False
        return not self.prefix or path == self.prefix or path.startswith(self.prefix + "/")


def create_site(ctx: AppContext, make_app: Callable[..., ASGIApp]) -> ASGIApp:
    """The page of every region of the database: with one region, that region's page as before; with several,
    each under its own address (``make_app(region_ctx, root=prefix, readers=False)`` builds one region's)."""
    sites = region_sites(ctx)
    if len(sites) <= 1:
        return make_app(sites[0].ctx if sites else ctx, root="", readers=True)
    default_host = (urlsplit(ctx.settings.base_url).hostname or "").lower()
    mounted = []
    for site in sites:
        address = urlsplit(site.ctx.settings.base_url)
        host = (address.hostname or "").lower()
        prefix = address.path.rstrip("/")
        mounted.append(Mounted(site.code, site.name, host if host != default_host else "", prefix,
                               make_app(site.ctx, root=prefix, readers=False)))
    return RegionRouter(ctx, mounted)


class RegionRouter:
    """Sends a request to its region's page with the region's path taken off (the page puts it back into its
    links); the upload readers start once for all regions."""

    def __init__(self, ctx: AppContext, mounted: list[Mounted]) -> None:
        self.ctx = ctx
        # The most specific first: a region with a host of its own, then the longest path.
        self.mounted = sorted(mounted, key=lambda m: (not m.host, -len(m.prefix)))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        headers = dict(scope.get("headers") or [])
        host = headers.get(b"host", b"").decode("latin-1").rsplit(":", 1)[0].strip("[]").lower()
        path: str = scope["path"]
        for region in self.mounted:
            if region.matches(host, path):
                if region.prefix and path == region.prefix:
                    await RedirectResponse(region.prefix + "/", status_code=308)(scope, receive, send)
                    return
                inner = dict(scope, path=path[len(region.prefix):] or "/")
                inner["raw_path"] = inner["path"].encode()
                await region.app(inner, receive, send)
                return
        await (await self._outside(path))(scope, receive, send)

    async def _outside(self, path: str) -> Response:
        """A request for no region's address: a personal link from before (forwarded to its region), the health
        check, or the list of regions."""
        link = _LINK.match(path)
        if link:
            code = await run_in_threadpool(region_of_link, self.ctx, link.group(1))
            region = next((m for m in self.mounted if m.code == code and not m.host), None)
            if region is None:
                return self._page("Link nicht gültig", "<p>Dieser Link ist nicht (mehr) gültig. Bitte verwenden Sie "
                                  "den Link aus der letzten E-Mail Ihrer Regionalagentur.</p>", 404)
            return RedirectResponse(region.prefix + path, status_code=307)
        if path == "/healthz":
            return PlainTextResponse("ok")
        if path in ("/", "/intern", "/intern/"):
            staff = path != "/"
            items = "".join(
                f'<li><a href="{html.escape(m.prefix)}/{"intern/" if staff else ""}">{html.escape(m.name)}</a></li>'
                for m in sorted(self.mounted, key=lambda m: m.name) if not m.host)
            title = "Interner Bereich: Region wählen" if staff else "Regionen"
            staff_intro = ("<p>Bitte wählen Sie Ihre Region. Mitarbeitende melden sich im internen Bereich ihrer "
                           "Region an.</p>")
            public_intro = ("<p>Die Regionen der Fachkräfteoffensive NRW auf dieser Seite. Institutionen öffnen ihre "
                            "Rückmeldung über den persönlichen Link aus der E-Mail ihrer Regionalagentur.</p>")
            intro = staff_intro if staff else public_intro
            return self._page(title, f"{intro}<ul>{items}</ul>", 200)
        return self._page("Nicht gefunden", "<p>Diese Seite gibt es nicht.</p>", 404)

    def _page(self, title: str, body: str, status: int) -> HTMLResponse:
        """A page of no region, in the regions' look (the first region's stylesheet)."""
        style = next((m.prefix for m in self.mounted if not m.host), None)
        link = f'<link rel="stylesheet" href="{html.escape(style)}/static/portal.css">' if style is not None else ""
        headers: dict[str, Any] = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
                                   "X-Content-Type-Options": "nosniff"}
        return HTMLResponse(f'<!doctype html><html lang="de"><head><meta charset="utf-8"><meta name="viewport" '
                            f'content="width=device-width, initial-scale=1"><title>{html.escape(title)}</title>{link}'
                            f'</head><body><header><p class="product">Handlungskonzept Fachkräfteoffensive NRW</p>'
                            f'</header><main id="inhalt"><h1>{html.escape(title)}</h1>{body}</main></body></html>',
                            status_code=status, headers=headers)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await run_in_threadpool(start_readers)
                except Exception as exc:  # reported to the server, which then stops
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await run_in_threadpool(stop_readers)
                await send({"type": "lifespan.shutdown.complete"})
                return
