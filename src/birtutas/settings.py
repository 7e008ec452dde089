"""Settings, all from environment variables.

SQLite (WAL) is the embedded default so one command runs a school server or a laptop;
`DATABASE_URL` selects PostgreSQL in production. `BIRTUTAS_ENV=production` turns on the
hardened transport and cookie settings and refuses the development secret key.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent
VAR_DIR = Path(os.environ.get("BIRTUTAS_VAR_DIR", Path.cwd() / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


ENVIRONMENT = os.environ.get("BIRTUTAS_ENV", "development")
PRODUCTION = ENVIRONMENT == "production"
DEVELOPMENT_SECRET_KEY = "development-only-not-secret"  # noqa: S105 - refused in production below
SECRET_KEY = os.environ.get("BIRTUTAS_SECRET_KEY", DEVELOPMENT_SECRET_KEY)
if PRODUCTION and (SECRET_KEY == DEVELOPMENT_SECRET_KEY or len(SECRET_KEY) < 50):
    raise ImproperlyConfigured(
        "BIRTUTAS_SECRET_KEY must be set to a random value of at least 50 characters in production."
    )
DEBUG = env_bool("BIRTUTAS_DEBUG", default=not PRODUCTION)
# Demo mode lists and allows the demo accounts; outside it they are never created.
DEMO_MODE = env_bool("BIRTUTAS_DEMO", default=False)
ALLOWED_HOSTS = os.environ.get("BIRTUTAS_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")
# What one CSV import may hold: larger files are refused before they are read at length.
IMPORT_MAX_BYTES = int(os.environ.get("BIRTUTAS_IMPORT_MAX_BYTES", str(5 * 1024 * 1024)))
IMPORT_MAX_ROWS = int(os.environ.get("BIRTUTAS_IMPORT_MAX_ROWS", "6000"))
# The address people type to reach this server; printed on activation letters and in e-mails.
# Records that travel (birtutas.sync). A node is a school's own server: BIRTUTAS_NODE_FILE names its
# identity file, written by `birtutas node register`. Every site of one deployment derives person ids
# from IINs under one shared secret, which a node receives in its registration (kernel.ids.keyed_id).
NODE_FILE = os.environ.get("BIRTUTAS_NODE_FILE", "")
SYNC_KEYS_DIR = Path(os.environ.get("BIRTUTAS_SYNC_KEYS_DIR", VAR_DIR / "keys"))
SYNC_STALE_DAYS = int(os.environ.get("BIRTUTAS_SYNC_STALE_DAYS", "7"))
SYNC_BASE_PATH = os.environ.get("BIRTUTAS_SYNC_BASE_PATH", "api/sync/v1/")
# Never derived from SECRET_KEY: every school server holds this one, and must not hold that.
BIRTUTAS_PERSON_ID_KEY = os.environ.get("BIRTUTAS_PERSON_ID_KEY", "" if PRODUCTION else "development-person-ids")
if PRODUCTION and (len(BIRTUTAS_PERSON_ID_KEY) < 32 or BIRTUTAS_PERSON_ID_KEY in SECRET_KEY):
    raise ImproperlyConfigured("BIRTUTAS_PERSON_ID_KEY must be set in production: a random value, not the secret key.")

SITE_URL = os.environ.get("BIRTUTAS_SITE_URL", "http://127.0.0.1:8000/")
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("BIRTUTAS_CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    # The registry's administration at /admin/ (birtutas.registry.admin), for system administrators only.
    "django.contrib.admin.apps.SimpleAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "ninja",
    "birtutas.kernel",
    "birtutas.registry",
    "birtutas.curriculum",
    "birtutas.web",
    "birtutas.governance",
    "birtutas.journal",
    "birtutas.sync",
    "birtutas.analytics",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "birtutas.web.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Inside WhiteNoise, so static files keep their caching; every other personal answer is marked no-store.
    "birtutas.web.middleware.PrivateResponsesMiddleware",
    "django.middleware.gzip.GZipMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # After the language is known, before anything reads the body: 413 for too much, 400 for NUL.
    "birtutas.web.middleware.RequestGuardMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # A service's refusal (400/403/404/409) becomes a page or JSON in the user's language, here only.
    "birtutas.web.errors.ServiceErrorMiddleware",
]
# A request that writes a registry, curriculum or journal record outside a service fails (tests and
# development; the audit log is complete only if every write goes through a service).
GUARD_WRITES = env_bool("BIRTUTAS_GUARD_WRITES", default=not PRODUCTION)
if GUARD_WRITES:
    MIDDLEWARE.insert(
        MIDDLEWARE.index("django.contrib.sessions.middleware.SessionMiddleware"),
        "birtutas.web.errors.WriteGuardMiddleware",
    )

ROOT_URLCONF = "birtutas.urls"
WSGI_APPLICATION = "birtutas.wsgi.application"
AUTH_USER_MODEL = "registry.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "birtutas.web.context_processors.navigation",
            ],
        },
    }
]

_default_sqlite = f"sqlite:///{VAR_DIR / 'birtutas.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(os.environ.get("DATABASE_URL", _default_sqlite), conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets readers proceed while a teacher writes; IMMEDIATE avoids upgrade deadlocks.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;",
        "transaction_mode": "IMMEDIATE",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "birtutas"}
    )
}

AUTHENTICATION_BACKENDS = ["birtutas.web.auth.AccountBackend"]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# How many reverse proxies in front of the app add to X-Forwarded-For (0: trust REMOTE_ADDR only).
TRUSTED_PROXY_COUNT = int(os.environ.get("BIRTUTAS_TRUSTED_PROXIES", "0"))
# Login throttling (see birtutas.web.throttle): failures allowed in the window from devices an account
# has not signed in on, per account and address, per address, and per account from all of them; and
# from a device it has signed in on, per device. The owner's own device never waits for a stranger.
LOGIN_THROTTLE = {
    "per_account_address": int(os.environ.get("BIRTUTAS_LOGIN_MAX_PER_ACCOUNT_ADDRESS", "5")),
    "per_address": int(os.environ.get("BIRTUTAS_LOGIN_MAX_PER_ADDRESS", "20")),
    "per_account": int(os.environ.get("BIRTUTAS_LOGIN_MAX_PER_ACCOUNT", "10")),
    "per_device": int(os.environ.get("BIRTUTAS_LOGIN_MAX_PER_DEVICE", "10")),
    "window_seconds": int(os.environ.get("BIRTUTAS_LOGIN_WINDOW", "900")),
}

LANGUAGE_CODE = "kk"
LANGUAGES = [("kk", _("Kazakh")), ("ru", _("Russian")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["birtutas.formats"]
TIME_ZONE = os.environ.get("BIRTUTAS_TIME_ZONE", "Asia/Almaty")
USE_I18N = True
USE_TZ = True
LANGUAGE_COOKIE_NAME = "birtutas_language"
LANGUAGE_COOKIE_SAMESITE = "Lax"

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = not PRODUCTION
if not PRODUCTION:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)

EMAIL_BACKEND = os.environ.get(
    "BIRTUTAS_EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend" if PRODUCTION else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_HOST = os.environ.get("BIRTUTAS_EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("BIRTUTAS_EMAIL_PORT", "25"))
EMAIL_TIMEOUT = int(os.environ.get("BIRTUTAS_EMAIL_TIMEOUT", "10"))
DEFAULT_FROM_EMAIL = os.environ.get("BIRTUTAS_FROM_EMAIL", "Birtutas <no-reply@birtutas.invalid>")
# Dotted path to an SMS gateway class (see birtutas.kernel.notify.SmsGateway); none by default.
SMS_GATEWAY = os.environ.get("BIRTUTAS_SMS_GATEWAY", "")
# Seconds an e-mail or SMS of a notice waits for further edits (a mark, then the lateness, then a
# correction go out as one message). Only a worker can wait: without a broker they go out at once.
NOTIFY_DELAY = int(os.environ.get("BIRTUTAS_NOTIFY_DELAY", "300" if os.environ.get("CELERY_BROKER_URL") else "0"))

# With no broker configured, tasks run in-process: the same task code serves both. An eager task
# still takes a producer from the broker's pool, so that pool is an in-memory one, never the network.
CELERY_TASK_ALWAYS_EAGER = not os.environ.get("CELERY_BROKER_URL")
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or "memory://"
CELERY_TASK_EAGER_PROPAGATES = True
# A delayed send lost with a worker or a broker restart goes out at the next minute's sweep.
CELERY_BEAT_SCHEDULE = {
    "send-due-notices": {"task": "birtutas.kernel.notify.send_due", "schedule": 60.0},
    # A node syncs whenever the central server answers; the centre captures its own writes meanwhile.
    "sync": {"task": "birtutas.sync.tasks.sync_now", "schedule": float(os.environ.get("BIRTUTAS_SYNC_EVERY", "300"))},
}

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("BIRTUTAS_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = int(os.environ.get("BIRTUTAS_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True

CSRF_FAILURE_VIEW = "birtutas.web.views.csrf_failure"
# The largest request body accepted, files included (Django bounds only the other fields, with
# DATA_UPLOAD_MAX_MEMORY_SIZE): a bigger one is a 413 before anything reads it. A whole school's
# onboarding files are well under a megabyte.
MAX_REQUEST_BYTES = int(os.environ.get("BIRTUTAS_MAX_REQUEST_BYTES", str(20 * 1024 * 1024)))

# Every handler masks IINs, the development server's access log ("django.server") included: the
# handlers below replace Django's defaults, which would otherwise print request lines unmasked.
LOG_LEVEL = os.environ.get("BIRTUTAS_LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"mask_iin": {"()": "birtutas.kernel.logging.MaskIINFilter"}},
    "formatters": {
        "django.server": {"()": "django.utils.log.ServerFormatter", "format": "[{server_time}] {message}", "style": "{"}
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["mask_iin"]},
        "django.server": {"class": "logging.StreamHandler", "formatter": "django.server", "filters": ["mask_iin"]},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # django.request (4xx/5xx with their URLs) and every other django.* logger end here.
        "django": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
    },
}

NINJA_PAGINATION_PER_PAGE = 100
