"""Pages every user shares: sign-in, the start page for each role, the inbox, health."""

import hashlib
import logging
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import auth, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.core.cache import cache
from django.core.mail import send_mail
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.i18n import set_language

from birtutas.kernel.errors import ServiceError, raise_refusal
from birtutas.registry import accounts
from birtutas.registry.permissions import Actor

from . import shell, throttle
from .context_processors import HAT_BY_KEY, HAT_SESSION_KEY, current_hat, hats_of
from .forms import SignInForm

log = logging.getLogger(__name__)

DEMO_ACCOUNTS = [
    ("teacher", gettext_lazy("teacher")),
    ("student", gettext_lazy("student")),
    ("parent", gettext_lazy("parent or guardian")),
    ("director", gettext_lazy("director")),
    ("analyst", gettext_lazy("ministry analyst")),
]


def remember_language(response, language: str):
    """Pages follow the account's language from the next request on, signed in or not."""
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME, language, samesite="Lax", secure=settings.PRODUCTION, max_age=365 * 86400
    )
    return response


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


# What the service worker keeps (diary weeks, personal data) and the browser drops on these headers.
KEPT_PAGES = '"cache", "storage"'


class SignInView(LoginView):
    template_name = "web/login.html"
    form_class = SignInForm
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        username = request.POST.get("username", "")
        refusal = throttle.refusal(request, username)
        if refusal is not None:
            # An unbound form: validating this one would check the password, which a refusal must not.
            form = self.form_class(request, initial={"username": username})
            context = self.get_context_data(form=form, refusal=refusal_message(refusal))
            context["unlock_username"] = username if refusal == throttle.ACCOUNT else ""
            return self.render_to_response(context, status=429)
        response = super().post(request, *args, **kwargs)
        if not request.user.is_authenticated:
            throttle.record_failure(request, username)
        return response

    def form_valid(self, form):
        response = super().form_valid(form)
        throttle.record_success(self.request, response, self.request.POST.get("username", ""))
        user = form.get_user()
        remember_language(response, user.language)
        # A session that ended without signing out (it expired) left its kept diary weeks on the
        # device: they go before the next person's pages are kept.
        response["Clear-Site-Data"] = KEPT_PAGES
        return response

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["demo_accounts"] = DEMO_ACCOUNTS if settings.DEMO_MODE else []
        return context


def refusal_message(refusal: str) -> str:
    minutes = throttle.limits()["window_seconds"] // 60
    if refusal == throttle.ACCOUNT:
        return _(
            "Too many failed sign-in attempts to this account from devices it has not been used on. Sign in from "
            "a device you have signed in on before, have a link sent to the account's e-mail address to sign in "
            "on this one, or wait %(minutes)d minutes."
        ) % {"minutes": minutes}
    return _(
        "Too many failed sign-in attempts. Wait %(minutes)d minutes and try again, or ask your school "
        "administrator to reset your password."
    ) % {"minutes": minutes}


@require_http_methods(["GET", "POST"])
@never_cache
def unlock(request):
    """Let the owner sign in on a new device while strangers' guesses hold the account for new devices.

    POST sends a link to the account's e-mail address (the same answer whether or not the account
    exists); opening the link marks this device as the account's own, as a sign-in there would.
    """
    token = request.GET.get("token")
    if token:
        username = throttle.read_unlock_token(token)
        if username is None:
            return render(request, "web/unlock.html", {"invalid": True}, status=400)
        response = redirect("login")
        throttle.remember_device(request, response, username)
        message = _("This device may now sign in to the account %(username)s.") % {"username": username}
        messages.success(request, message)
        return response
    if request.method == "POST":
        username = request.POST.get("username", "").strip()[:150]
        user = get_user_model().objects.filter(username=username, is_active=True).first() if username else None
        if user is not None and throttle.may_send_unlock_mail(request, username):
            _send_unlock_mail(request, user)
        return render(request, "web/unlock.html", {"sent": True})
    return render(request, "web/unlock.html", {})


def _send_unlock_mail(request, user) -> None:
    address = user.email or (user.person.email if user.person_id else "")
    if not address:
        return
    query = urlencode({"token": throttle.unlock_token(user.username)})
    link = f"{request.build_absolute_uri(reverse('unlock'))}?{query}"
    with translation.override(user.language or settings.LANGUAGE_CODE):
        subject = _("Sign in to Birtutas on a new device")
        body = _(
            "Someone, perhaps you, asked to sign in to the account %(username)s on a new device after many wrong "
            "passwords. To allow a device, open this link on that device within an hour:\n\n%(link)s\n\n"
            "If it was not you, ignore this message: your password is still needed to sign in."
        ) % {"username": user.username, "link": link}
    try:
        send_mail(subject, body, None, [address])
    except Exception:  # noqa: BLE001 - a mail server down must not break the page; the owner can ask again
        log.exception("unlock mail could not be sent")


def csrf_failure(request, reason: str = ""):
    """A form sent without a valid CSRF token (expired session, another site): our 403 page, not Django's."""
    message = _("The form has expired or came from another site. Go back, reload the page and send it again.")
    return render(request, "403.html", {"message": message}, status=403)


@require_POST
def sign_out(request):
    auth.logout(request)
    response = redirect("login")
    # The diary weeks the service worker kept hold personal data: the browser drops them with the session.
    response["Clear-Site-Data"] = KEPT_PAGES
    return response


@login_required
def home(request):
    """Send each person to the page they open every day, in the role they work in now."""
    hat = current_hat(request, Actor.for_user(request.user))
    if hat is not None:
        return redirect(hat.start)
    return render(request, "web/home.html")


@login_required
def inbox(request):
    """One's notices, the latest change first (a replaced notice moves up, unread again)."""
    if request.method == "POST":
        request.user.notifications.filter(read_at__isnull=True).update(read_at=timezone.now())
        return redirect("inbox")
    notes = list(request.user.notifications.all()[:100])
    return render(request, "web/inbox.html", {"notes": notes})


@require_http_methods(["GET", "POST"])
def choose_language(request):
    """The site's language switch. Django's own view only sets a cookie: a signed-in person's choice is
    now also their account's language, the one their notices, e-mails and SMS are written in (it stayed
    Kazakh, so a parent reading the site in Russian got every notice in Kazakh)."""
    response = set_language(request)
    language = request.POST.get("language", "") if request.method == "POST" else ""
    if request.user.is_authenticated and language in dict(settings.LANGUAGES):
        accounts.set_language(request.user, language)
    return response


# ------------------------------------------------------------------ accounts: activation, reset, profile

ACCOUNT_BACKEND = "birtutas.web.auth.AccountBackend"
# Wrong codes from one address in the login window, and reset requests per address and per name or contact.
CODE_FAILURES_PER_ADDRESS = 10
RESETS_PER_ADDRESS = 10
RESETS_PER_IDENTIFIER = 3
RESET_WINDOW_SECONDS = 3600


def _counter_key(kind: str, value: str) -> str:
    return f"account-{kind}:{hashlib.sha256(value.strip().casefold().encode()).hexdigest()[:32]}"


def _count(kind: str, value: str, window: int) -> int:
    key = _counter_key(kind, value)
    cache.add(key, 0, window)
    try:
        return cache.incr(key)
    except ValueError:
        cache.set(key, 1, window)
        return 1


def _seen(kind: str, value: str) -> int:
    return cache.get(_counter_key(kind, value), 0)


def _code_window() -> int:
    return throttle.limits()["window_seconds"]


def _too_many_codes(request) -> bool:
    return _seen("code-fail", throttle.client_address(request)) >= CODE_FAILURES_PER_ADDRESS


def _code_failed(request) -> None:
    _count("code-fail", throttle.client_address(request), _code_window())


def _too_many_codes_message() -> str:
    return _("Too many wrong codes from this network. Wait %(minutes)d minutes and try again.") % {
        "minutes": _code_window() // 60
    }


def _sign_in(request, user, response=None):
    auth.login(request, user, backend=ACCOUNT_BACKEND)
    response = response or redirect("home")
    remember_language(response, user.language)
    return response


@require_http_methods(["GET", "POST"])
@never_cache
@sensitive_post_parameters("code", "password", "password_again")
@sensitive_variables()
def activate_account(request):
    """Activate an account with the code from a letter or a message: first the code, then a username and password.

    Works without JavaScript: the second step is a page of its own that carries the code in a hidden field.
    """
    context = {"code": "", "step": 1}
    if request.method == "GET":
        return render(request, "web/activate.html", context)
    if _too_many_codes(request):
        return render(request, "web/activate.html", {**context, "error": _too_many_codes_message()}, status=429)
    code = request.POST.get("code", "")[:64]
    context["code"] = code
    try:
        entry = accounts.usable_code(code)
    except accounts.CodeError as error:
        _code_failed(request)
        return render(request, "web/activate.html", {**context, "error": error.message}, status=400)
    context.update(step=2, person=entry.person, username=accounts.suggest_username(entry.person))
    if "password" not in request.POST:
        return render(request, "web/activate.html", context)
    context["username"] = request.POST.get("username", "")[:150]
    try:
        user = accounts.activate(
            code,
            username=request.POST.get("username", ""),
            password=request.POST.get("password", ""),
            password_again=request.POST.get("password_again", ""),
            language=translation.get_language() or settings.LANGUAGE_CODE,
        )
    except accounts.CodeError as error:
        return render(request, "web/activate.html", {**context, "step": 1, "error": error.message}, status=400)
    except ServiceError as error:
        raise_refusal(error)
        return render(request, "web/activate.html", {**context, "error": error.message}, status=400)
    messages.success(request, _("Your account is ready. Welcome to Birtutas!"))
    return _sign_in(request, user)


@require_http_methods(["GET", "POST"])
@never_cache
def password_reset(request):
    """Ask for a reset code by username, e-mail or phone. The answer is the same whether or not an account exists."""
    if request.method == "GET":
        return render(request, "web/reset.html", {})
    identifier = request.POST.get("identifier", "").strip()[:254]
    if not identifier:
        message = _("Enter your username, e-mail address or phone.")
        return render(request, "web/reset.html", {"error": message}, status=400)
    address = throttle.client_address(request)
    busy = _seen("reset-address", address) >= RESETS_PER_ADDRESS
    if busy or _seen("reset-name", identifier) >= RESETS_PER_IDENTIFIER:
        message = _("Too many requests for a code. Wait an hour and try again, or ask your class teacher or director.")
        return render(request, "web/reset.html", {"error": message}, status=429)
    _count("reset-address", address, RESET_WINDOW_SECONDS)
    _count("reset-name", identifier, RESET_WINDOW_SECONDS)
    accounts.reset_request(identifier, site=request.build_absolute_uri("/"))
    return render(request, "web/reset.html", {"sent": True})


@require_http_methods(["GET", "POST"])
@never_cache
@sensitive_post_parameters("code", "password", "password_again")
@sensitive_variables()
def password_reset_code(request):
    """Choose a new password with a code received by e-mail or SMS (or printed by the school)."""
    context = {"code": request.POST.get("code", "")[:64]}
    if request.method == "GET":
        return render(request, "web/reset_code.html", context)
    if _too_many_codes(request):
        return render(request, "web/reset_code.html", {**context, "error": _too_many_codes_message()}, status=429)
    try:
        user = accounts.reset_with_code(
            context["code"],
            password=request.POST.get("password", ""),
            password_again=request.POST.get("password_again", ""),
        )
    except accounts.CodeError as error:
        _code_failed(request)
        return render(request, "web/reset_code.html", {**context, "error": error.message}, status=400)
    except ServiceError as error:
        raise_refusal(error)
        return render(request, "web/reset_code.html", {**context, "error": error.message}, status=400)
    messages.success(request, _("Your password is changed."))
    return _sign_in(request, user)


def _profile_page(request, status=200, **extra):
    user = request.user
    email, phone = accounts.contacts(user.person, user) if user.person else (user.email, "")
    context = {  # the roles to switch between ("hats") come from the layout's context processor
        "email": email,
        "phone": phone,
        "language_choices": settings.LANGUAGES,
        "tokens": user.api_tokens.filter(revoked_at__isnull=True).count(),
        **extra,
    }
    return render(request, "web/profile.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
@never_cache
def profile(request):
    """The account holder's language and contacts."""
    if request.method == "GET":
        return _profile_page(request)
    try:
        changed = accounts.update_profile(
            request.user,
            language=request.POST.get("language", ""),
            email=request.POST.get("email", "")[:254],
            phone=request.POST.get("phone", "")[:30],
        )
    except ServiceError as error:
        raise_refusal(error)
        return _profile_page(request, status=400, profile_error=error.message)
    request.user.refresh_from_db()
    translation.activate(request.user.language)
    response = redirect("profile")
    remember_language(response, request.user.language)
    messages.success(request, _("Your profile is saved.") if changed else _("Nothing was changed."))
    return response


@login_required
@require_POST
@sensitive_post_parameters("current", "password", "password_again")
@sensitive_variables()
def profile_password(request):
    try:
        accounts.change_password(
            request.user,
            current=request.POST.get("current", ""),
            password=request.POST.get("password", ""),
            password_again=request.POST.get("password_again", ""),
        )
    except ServiceError as error:
        raise_refusal(error)
        return _profile_page(request, status=400, password_error=error.message)
    request.user.refresh_from_db()
    # This session stays signed in; every other one ends with the old password.
    auth.update_session_auth_hash(request, request.user)
    messages.success(request, _("Your password is changed. Your other sessions are signed out."))
    return redirect("profile")


@login_required
@require_POST
def sign_out_everywhere(request):
    accounts.sign_out_everywhere(request.user)
    auth.logout(request)
    messages.success(request, _("You are signed out on every device, this one too. Sign in again."))
    return redirect("login")


@login_required
@require_POST
def switch_role(request):
    """Work in another of one's roles: the navigation and the start page follow; nothing else changes."""
    hat = HAT_BY_KEY.get(request.POST.get("role", ""))
    if hat is None or hat not in hats_of(Actor.for_user(request.user)):
        messages.error(request, _("You do not have this role."))
        return redirect("home")
    request.session[HAT_SESSION_KEY] = hat.key
    return redirect(hat.start)


# ------------------------------------------------------------------ the installable web app


@require_GET
def web_manifest(request):
    """The web app manifest: the diary installs on a phone's home screen like an app."""
    icons = [
        {"src": static("birtutas/icon.svg"), "sizes": "any", "type": "image/svg+xml"},
        {"src": static("birtutas/icon-192.png"), "sizes": "192x192", "type": "image/png"},
        {"src": static("birtutas/icon-512.png"), "sizes": "512x512", "type": "image/png", "purpose": "any maskable"},
    ]
    manifest = {
        "name": "Birtutas",
        "short_name": "Birtutas",
        "start_url": reverse("diary:index"),
        "scope": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#0b5cad",
        "icons": icons,
    }
    return JsonResponse(manifest, content_type="application/manifest+json")


@require_GET
def service_worker(request):
    """The service worker, from the site's root so that its scope is the whole site (it keeps diary weeks
    only). Its version follows the shell's content, so a new stylesheet replaces the cached one."""
    context = {"version": shell.shell()["version"], "header": shell.SHELL_HEADER}
    response = render(request, "web/sw.js", context, content_type="text/javascript")
    response["Cache-Control"] = "no-cache"
    return response


@require_GET
def offline(request):
    """What the service worker shows for a page it cannot reach offline: no personal data in it."""
    return render(request, "web/offline.html")
