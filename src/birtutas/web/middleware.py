"""Security headers Django 5.2 does not set by itself, refusal of malformed requests, private caching."""

import json
import re

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpResponse, JsonResponse, QueryDict
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _

from .errors import wants_json
from .templatetags.app_shell import INLINE_STYLES


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not request.path.startswith("/api/v1/docs"):
            policy = settings.CONTENT_SECURITY_POLICY
            # A diary week opened on a slow link carries its stylesheet inline: that one, by its hash.
            inline = getattr(request, INLINE_STYLES, None)
            if inline:
                policy = policy.replace("style-src 'self'", " ".join(["style-src 'self'", *inline]), 1)
            response.setdefault("Content-Security-Policy", policy)
        response.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        return response


API_PREFIX = "/api/"
# The API's own description is public and the same for everyone: it may be cached.
PUBLIC_API_PATHS = ("/api/v1/openapi.json", "/api/v1/docs")
TOO_LARGE = (RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent)
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
ESCAPED_NUL = re.compile(rb"\\u0000", re.IGNORECASE)


def refusal(request, status: int, message) -> HttpResponse:
    """An error answer in the user's language: JSON for the API and scripts, our page for a person."""
    if wants_json(request):
        return JsonResponse({"ok": False, "error": str(message), "detail": str(message)}, status=status)
    return render(request, f"{status}.html", {"message": message}, status=status)


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False


def _json_has_nul(body: bytes) -> bool:
    # A raw NUL byte makes the JSON invalid and the API refuses it itself; an escaped one parses.
    if not ESCAPED_NUL.search(body):
        return False
    try:
        return _has_nul(json.loads(body))
    except ValueError:
        return False


class RequestGuardMiddleware:
    """Refuses in one place what no view should ever see, before any view or CSRF check reads it.

    A body over MAX_REQUEST_BYTES (uploaded files included) or over Django's own limits
    (DATA_UPLOAD_MAX_MEMORY_SIZE, DATA_UPLOAD_MAX_NUMBER_FIELDS, DATA_UPLOAD_MAX_NUMBER_FILES) is a
    413; a NUL character anywhere a value can come from (path,
    query, form fields and file names, JSON strings, cookies) is a 400, as PostgreSQL cannot store
    one. Placed after LocaleMiddleware so the answer is in the user's language.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        too_large = _("The request is too large. Send a smaller file, or fewer values at once, and try again.")
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.MAX_REQUEST_BYTES:  # files too: Django bounds only the other fields
            return refusal(request, 413, too_large)
        try:
            has_nul = self._has_nul(request)
        except TOO_LARGE:
            return refusal(request, 413, too_large)
        except MultiPartParserError:
            return refusal(request, 400, _("The form could not be read. Reload the page and send it again."))
        if has_nul:
            return refusal(
                request,
                400,
                _("The request contains a NUL character (\\0), which no text may contain. Remove it and try again."),
            )
        return self.get_response(request)

    @staticmethod
    def _has_nul(request) -> bool:
        if "\x00" in request.path_info or _has_nul(list(request.COOKIES.items())):
            return True
        if any(_has_nul(key) or _has_nul(values) for key, values in request.GET.lists()):
            return True
        if request.method not in BODY_METHODS:
            return False
        content_type = request.content_type or ""
        if request.method == "POST" and content_type in FORM_TYPES:
            fields = any(_has_nul(key) or _has_nul(values) for key, values in request.POST.lists())
            files = any(_has_nul(key) or _has_nul(f.name or "") for key, f in request.FILES.items())
            return fields or files
        # Django parses forms of POST only; another method's body is read as the view would read it.
        if content_type == "application/x-www-form-urlencoded":
            return any(_has_nul(k) or _has_nul(v) for k, v in QueryDict(request.body).lists())
        return _json_has_nul(request.body)


class PrivateResponsesMiddleware:
    """`Cache-Control: no-store` on every answer that may hold personal data, so no proxy, shared
    computer's browser cache or back button keeps a diary or a token.

    That is every answer to a request that carries credentials (a session cookie or an Authorization
    header: no signed-in request is without one) and every API answer but the public description.
    Deciding from the request alone costs no query, whatever the view did. Static files never reach
    this middleware: WhiteNoise answers them before, with their own long caching.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        path = request.path_info
        if (
            settings.SESSION_COOKIE_NAME in request.COOKIES
            or "HTTP_AUTHORIZATION" in request.META
            or (path.startswith(API_PREFIX) and not path.startswith(PUBLIC_API_PATHS))
        ):
            add_never_cache_headers(response)
        return response
