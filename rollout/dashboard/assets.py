"""The page's files (`static/`, package data) and the headers every dashboard answer carries.

No CDN, no build step: plain HTML, CSS and JS modules committed as they are served. The files
are read once, into memory, from a fixed list: a request names a file, never a path, so nothing
outside the list can be served.

Headers: a strict Content-Security-Policy (`default-src 'self'`, no inline script or style,
`frame-ancestors 'none'`), `X-Frame-Options: DENY`, `X-Content-Type-Options: nosniff`, no
referrer, and `Cache-Control: no-store` (the page and the API answers carry session data; the
small static files are not worth a second policy).
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from importlib import resources

CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
HEADERS: dict[str, str] = {
    "content-security-policy": CSP,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
    "cross-origin-opener-policy": "same-origin",
}
MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}
#: What `GET /admin/ui/static/{name}` serves; the two pages are served by `/admin/ui` itself.
STATIC_FILES = (
    "app.js",
    "api.js",
    "charts.js",
    "format.js",
    "views.js",
    "actions.js",
    "signin.js",
    "style.css",
    "icon.svg",
)
PAGES = ("index.html", "signin.html")
MESSAGE_SLOT = "<!--message-->"


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    media_type: str


def load_assets() -> dict[str, Asset]:
    folder = resources.files("rollout.dashboard") / "static"
    found: dict[str, Asset] = {}
    for name in (*STATIC_FILES, *PAGES):
        suffix = name[name.rindex(".") :]
        found[name] = Asset((folder / name).read_bytes(), MEDIA_TYPES[suffix])
    return found


def signin_page(template: Asset, message: str | None) -> bytes:
    """The sign-in page, with an optional message (escaped) where the template marks it."""
    text = template.body.decode("utf-8")
    slot = f'<p class="message" role="alert">{html.escape(message)}</p>' if message else ""
    return text.replace(MESSAGE_SLOT, slot, 1).encode("utf-8")
