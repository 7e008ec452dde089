"""Where refusals become responses: one middleware turns a service's typed error into a page or
JSON in the user's language, with its status, so views never catch errors one by one."""

from __future__ import annotations

from django.http import JsonResponse
from django.shortcuts import render

from birtutas.journal.rules import RuleError
from birtutas.kernel.context import Via, acting_via
from birtutas.kernel.errors import NotFound, ServiceError


def wants_json(request) -> bool:
    return (
        request.path.startswith("/api/")
        or request.headers.get("x-requested-with") == "fetch"
        or "application/json" in request.headers.get("accept", "")
    )


class ServiceErrorMiddleware:
    """Also names the channel of every change the request makes: the API or a web page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with acting_via(Via.API if request.path.startswith("/api/") else Via.WEB):
            return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, NotFound):
            return None  # Django's own 404 handling, with our 404 page
        if not isinstance(exception, ServiceError | RuleError):
            return None
        status = getattr(exception, "status", 400)
        message = str(exception.message)
        if wants_json(request):
            return JsonResponse({"ok": False, "error": message, "detail": message}, status=status)
        return render(request, "web/refused.html", {"message": message, "status": status}, status=status)


class WriteGuardMiddleware:
    """In tests (and wherever BIRTUTAS_GUARD_WRITES is on): a request that writes a record of the
    registry, the curriculum or the journal outside a service fails, so the audit stays complete."""

    def __init__(self, get_response):
        from birtutas.kernel.context import guarded_tables

        self.get_response = get_response
        self.tables = guarded_tables()  # the models do not change while the process runs

    def __call__(self, request):
        from django.db import connection

        from birtutas.kernel.context import guard_writes

        with connection.execute_wrapper(guard_writes(self.tables)):
            return self.get_response(request)
