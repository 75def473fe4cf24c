"""What the server refuses on top of Gradio's own file checks.

Gradio already serves only its temporary upload/cache folder and ``allowed_paths`` (for us,
``app/examples``). Its ``/file=`` route also proxies public http(s) URLs, and ``/proxy=``
forwards to other Gradio apps; this app never fetches anything, so both are refused here
before Gradio sees the request.
"""
from __future__ import annotations

import re
from urllib.parse import unquote

# "file=" followed by a URL scheme (http:, https:, ftp:, data:, //host ...)
_REMOTE_FILE = re.compile(r'/file=\s*(?:[a-z][a-z0-9+.\-]*:|//|\\\\)', re.IGNORECASE)
_PROXY = re.compile(r'/proxy=', re.IGNORECASE)


def is_refused_path(path: str) -> bool:
    decoded = path
    for _ in range(3):          # percent-encoding nested up to three times
        decoded = unquote(decoded)
    return bool(_REMOTE_FILE.search(decoded) or _PROXY.search(decoded))


class RefuseRemoteFetches:
    """ASGI middleware: 403 for ``/file=<url>`` and ``/proxy=<url>`` requests."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope.get('type') == 'http':
            raw = scope.get('raw_path') or b''
            path = raw.decode('latin-1') if raw else scope.get('path', '')
            if is_refused_path(path) or is_refused_path(scope.get('path', '')):
                body = b'{"detail":"This app does not fetch remote files."}'
                await send({'type': 'http.response.start', 'status': 403,
                            'headers': [(b'content-type', b'application/json'),
                                        (b'content-length', str(len(body)).encode())]})
                await send({'type': 'http.response.body', 'body': body})
                return
        await self.app(scope, receive, send)
