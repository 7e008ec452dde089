"""Pages every user shares: sign-in, the start page for each role, the inbox, health."""

from django.conf import settings
from django.contrib import auth
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from birtutas.registry.permissions import Actor

from . import throttle
from .forms import SignInForm

DEMO_ACCOUNTS = [
    ("teacher", gettext_lazy("teacher")),
    ("student", gettext_lazy("student")),
    ("parent", gettext_lazy("parent or guardian")),
    ("director", gettext_lazy("director")),
    ("analyst", gettext_lazy("ministry analyst")),
]


@require_GET
@never_cache
def healthz(request):
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        database = "ok"
    except Exception:  # noqa: BLE001 - any failure means unhealthy
        database = "unavailable"
    status = 200 if database == "ok" else 503
    return JsonResponse(
        {"status": "ok" if status == 200 else "error", "database": database, "vendor": connection.vendor}, status=status
    )


class SignInView(LoginView):
    template_name = "web/login.html"
    form_class = SignInForm
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        username = request.POST.get("username", "")
        address = throttle.client_address(request)
        if throttle.is_locked(username, address):
            form = self.get_form()
            form.errors.clear()
            form.add_error(
                None,
                _(
                    "Too many failed sign-in attempts. Wait %(minutes)d minutes and try again, or ask your school "
                    "administrator to reset your password."
                )
                % {"minutes": settings.LOGIN_THROTTLE["window_seconds"] // 60},
            )
            return self.render_to_response(self.get_context_data(form=form), status=429)
        response = super().post(request, *args, **kwargs)
        if request.user.is_authenticated:
            throttle.reset(username)
        else:
            throttle.record_failure(username, address)
        return response

    def form_valid(self, form):
        response = super().form_valid(form)
        user = form.get_user()
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            user.language,
            samesite="Lax",
            secure=settings.PRODUCTION,
            max_age=365 * 86400,
        )
        return response

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["demo_accounts"] = DEMO_ACCOUNTS if settings.DEMO_MODE else []
        return context


@require_POST
def sign_out(request):
    auth.logout(request)
    return redirect("login")


@login_required
def home(request):
    """Send each person to the page they open every day."""
    actor = Actor.for_user(request.user)
    roles = actor.roles()
    if roles & {"teacher", "class_teacher"}:
        return redirect("journal:index")
    if roles & {"director", "deputy"}:
        return redirect("school:index")
    if "student" in roles or actor.ward_ids:
        return redirect("diary:index")
    if roles & {"district_officer", "region_officer", "ministry_analyst"}:
        return redirect("analytics:area")
    return render(request, "web/home.html")


@login_required
def inbox(request):
    notes = list(request.user.notifications.all()[:100])
    if request.method == "POST":
        request.user.notifications.filter(read_at__isnull=True).update(read_at=timezone.now())
        return redirect("inbox")
    return render(request, "web/inbox.html", {"notes": notes})
