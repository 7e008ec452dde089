"""The installable app's shell: what the service worker caches, and the stylesheet a diary week inlines.

On a 2G link every request costs a round trip of half a second, so a diary week opened without the
service worker (a first visit) carries the part of the stylesheet it needs in the page itself,
allowed by its hash in the page's Content-Security-Policy. The service worker asks for the week
with `SHELL_HEADER` set: it has the stylesheet in its cache, so the page links it instead.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re

from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage

STYLESHEET = "birtutas/birtutas.css"
SCRIPT = "birtutas/app.js"
SHELL_HEADER = "X-Birtutas-Shell"
# The stylesheet's blocks for the teachers', the director's and the analyst's pages start at the
# first of these markers; a diary week needs only what comes before.
OTHER_PAGES = "\n/* == "
COMMENT = re.compile(r"/\*.*?\*/", re.S)


def _read(name: str) -> str:
    path = finders.find(name) if settings.DEBUG or getattr(settings, "WHITENOISE_USE_FINDERS", False) else None
    with open(path or staticfiles_storage.path(name), encoding="utf-8") as source:
        return source.read()


def _shell() -> dict:
    css, script = _read(STYLESHEET), _read(SCRIPT)
    critical = COMMENT.sub("", css.split(OTHER_PAGES, 1)[0]).replace("\n", "")
    digest = base64.b64encode(hashlib.sha256(critical.encode()).digest()).decode()
    return {
        "version": hashlib.sha256((css + script).encode()).hexdigest()[:12],
        "critical": critical,
        "source": f"'sha256-{digest}'",
    }


_cached_shell = functools.lru_cache(maxsize=1)(_shell)


def shell() -> dict:
    """The shell's version (it changes with the stylesheet and the script), and the critical CSS with
    its CSP source. Read once in production, where static files change only with a release."""
    return _shell() if settings.DEBUG or not getattr(settings, "PRODUCTION", False) else _cached_shell()


def has_shell(request) -> bool:
    """The request comes from the service worker, which holds the stylesheet in its cache."""
    return bool(request.headers.get(SHELL_HEADER))
