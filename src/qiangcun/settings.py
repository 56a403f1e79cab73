"""One settings module, driven by the environment only.

Variables: ``QIANGCUN_HOME`` (data folder, default ``./var``), ``DATABASE_URL`` (default: SQLite file
``qiangcun.sqlite3`` in ``QIANGCUN_HOME``), ``SECRET_KEY`` (generated into ``QIANGCUN_HOME`` when absent),
``DEBUG``, ``ALLOWED_HOSTS``, ``QIANGCUN_DEMO`` (show the demo accounts on the login page),
``QIANGCUN_TODAY`` (pin "today", used by the demo to stand on 2020-04-17) and ``QIANGCUN_TRUSTED_PROXY``
(behind a reverse proxy: the audit log reads the client's address from ``X-Forwarded-For``).

Production behind an HTTPS reverse proxy (docs/deploy.md):

- ``QIANGCUN_HTTPS=1`` — secure session and CSRF cookies, redirect http to https, HSTS for one year,
  trust the proxy's ``X-Forwarded-Proto: https``, ``CSRF_TRUSTED_ORIGINS`` = ``https://`` + each of
  ``ALLOWED_HOSTS``. Off by default: the demo and a PC on the office network serve plain http.
- ``QIANGCUN_HSTS_SUBDOMAINS=0`` — HSTS without ``includeSubDomains`` (default on with QIANGCUN_HTTPS).
- ``QIANGCUN_HSTS_PRELOAD=0|1`` — the ``preload`` directive (default: as QIANGCUN_HSTS_SUBDOMAINS). The
  directive only consents; a domain enters browsers' lists when someone submits it to hstspreload.org.
- ``QIANGCUN_SERVER=gunicorn|waitress`` — the web server ``qiangcun serve`` runs (read by core/serving.py;
  default gunicorn, waitress on Windows where gunicorn does not run).

Every response carries a Content-Security-Policy (django-csp, ``CONTENT_SECURITY_POLICY`` below): scripts,
styles, fonts, images and requests come from the app itself only; no inline script, style or handler.
"""

from __future__ import annotations

import datetime
import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r}: expected one of 1/0, true/false, yes/no, on/off")


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}={raw!r}: expected a whole number") from exc


def env_date(name: str) -> datetime.date | None:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    try:
        return datetime.date.fromisoformat(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}={raw!r}: expected a date like 2020-04-17") from exc


HOME = Path(env_str("QIANGCUN_HOME", "var")).resolve()
try:
    HOME.mkdir(parents=True, exist_ok=True)
except OSError as exc:  # pragma: no cover - depends on the machine
    raise ImproperlyConfigured(f"QIANGCUN_HOME={HOME}: cannot create the data folder ({exc})") from exc


def _secret_key() -> str:
    key = env_str("SECRET_KEY")
    if key:
        return key
    path = HOME / "secret_key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(50))
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("DEBUG")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
DEMO = env_bool("QIANGCUN_DEMO")
DEMO_PASSWORD = env_str("QIANGCUN_DEMO_PASSWORD")
TODAY = env_date("QIANGCUN_TODAY")
# Behind the one reverse proxy we trust: the client's address (audit log, lockout) is the last X-Forwarded-For entry.
QIANGCUN_TRUSTED_PROXY = env_bool("QIANGCUN_TRUSTED_PROXY")

INSTALLED_APPS = [
    "whitenoise.runserver_nostatic",
    # Before django.contrib.auth so that its ``createsuperuser`` (refused: no superuser) is the one that runs.
    "qiangcun.accounts",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    # Before django_tasks_db so that its ``db_worker`` (one that outlives a database restart) is the one that runs.
    "qiangcun.core",
    "django_tasks",
    "django_tasks_db",
    "ninja",
    "qiangcun.orgs",
    "qiangcun.ledger",
    "qiangcun.assets",
    "qiangcun.contracts",
    "qiangcun.targets",
    "qiangcun.plans",
    "qiangcun.supervision",
    "qiangcun.imports",
    "qiangcun.exports",
    "qiangcun.reports",
    "qiangcun.web",
    "qiangcun.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "qiangcun.core.middleware.AuditOriginMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "qiangcun.accounts.middleware.SessionLimitsMiddleware",
    "qiangcun.accounts.middleware.PasswordChangeRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "qiangcun.urls"
WSGI_APPLICATION = "qiangcun.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "qiangcun.core.context_processors.site",
            ],
        },
    },
]

_default_db = f"sqlite:///{HOME / 'qiangcun.sqlite3'}"
try:
    # A connection is kept 60 s between requests and checked before it is used again (one round trip),
    # so that after a PostgreSQL restart the next request reconnects instead of failing on a dead one.
    DATABASES = {
        "default": dj_database_url.parse(
            env_str("DATABASE_URL", _default_db), conn_max_age=60, conn_health_checks=True
        )
    }
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL: {exc}") from exc
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;",
    }
elif DATABASES["default"]["ENGINE"] not in {"django.db.backends.postgresql"}:
    raise ImproperlyConfigured("DATABASE_URL: only sqlite:// and postgres:// are supported")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
# --- signing in (等保 2.0): every default below can be set from the environment -------------------------
# The lockout (django-axes) sits in front of the project's own backend: after QIANGCUN_LOCKOUT_FAILURES
# wrong passwords for one account, or from one address, that account (or address) is refused for
# QIANGCUN_LOCKOUT_MINUTES, even with the right password. Bad API tokens count against the address.
AUTHENTICATION_BACKENDS = [
    "qiangcun.accounts.backends.LockoutBackend",
    "qiangcun.accounts.backends.CaseInsensitiveModelBackend",
]
# The security admin may set these (and the password, session and second-factor rules below) in the app
# (安全策略, accounts.policy): what they leave empty follows these settings.
LOCKOUT_FAILURES = env_int("QIANGCUN_LOCKOUT_FAILURES", 5)
LOCKOUT_MINUTES = env_int("QIANGCUN_LOCKOUT_MINUTES", 10)
AXES_FAILURE_LIMIT = "qiangcun.accounts.policy.failure_limit"
AXES_COOLOFF_TIME = "qiangcun.accounts.policy.cool_off"
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # each on its own: the account, and the address
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False  # the lockout ends when it says it ends
AXES_ENABLE_ACCESS_FAILURE_LOG = True
AXES_ENABLE_ADMIN = False
AXES_VERBOSE = False
AXES_USERNAME_CALLABLE = "qiangcun.accounts.signin.username_key"
AXES_CLIENT_IP_CALLABLE = "qiangcun.accounts.signin.client_address"
AXES_LOCKOUT_CALLABLE = "qiangcun.accounts.signin.locked_out"
AXES_SENSITIVE_PARAMETERS = ["password", "otp_token", "token"]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# A session ends after QIANGCUN_IDLE_MINUTES without a request, and QIANGCUN_SESSION_HOURS after sign-in
# whatever happens (accounts.middleware.SessionLimitsMiddleware); signing out deletes it on the server.
SESSION_IDLE_MINUTES = env_int("QIANGCUN_IDLE_MINUTES", 30)
SESSION_HOURS = env_int("QIANGCUN_SESSION_HOURS", 12)
SESSION_COOKIE_AGE = 24 * 3600  # the longest a policy allows; the server ends a session earlier
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
# Re-enter the password (and the authenticator code, where one is set up) before a sensitive action
# when the last such check is older than this.
REAUTH_SECONDS = env_int("QIANGCUN_REAUTH_MINUTES", 5) * 60

# Passwords: length, character classes (of upper case, lower case, digits, other), no reuse of the last
# few, and for admins (镇党建办 and the 三员) a change every QIANGCUN_PASSWORD_MAX_AGE_DAYS (0: never).
PASSWORD_MIN_LENGTH = env_int("QIANGCUN_PASSWORD_MIN_LENGTH", 8)
PASSWORD_MIN_CLASSES = env_int("QIANGCUN_PASSWORD_CLASSES", 3)
PASSWORD_HISTORY = env_int("QIANGCUN_PASSWORD_HISTORY", 3)
PASSWORD_MAX_AGE_DAYS = env_int("QIANGCUN_PASSWORD_MAX_AGE_DAYS", 90)
AUTH_PASSWORD_VALIDATORS = [
    # length, classes and history: as the policy in force says (accounts.policy), read at each check
    {"NAME": "qiangcun.accounts.validators.MinimumLengthValidator"},
    {"NAME": "qiangcun.accounts.validators.CharacterClassesValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ("username", "display_name", "phone")},
    },
    {"NAME": "qiangcun.accounts.validators.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "qiangcun.accounts.validators.HistoryValidator"},
]

# A second factor (TOTP, any authenticator app): required for the township admin and the 三员, open to
# everyone (django-otp). The demo waives the requirement so its accounts still sign in with a password.
OTP_TOTP_ISSUER = env_str("QIANGCUN_OTP_ISSUER", "强村")
OTP_REQUIRED_ROLES = env_list(
    "QIANGCUN_OTP_REQUIRED_ROLES", "township_admin,system_admin,security_admin,auditor"
)

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文")]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True
USE_THOUSAND_SEPARATOR = False

STATIC_URL = "/static/"
STATIC_ROOT = HOME / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = HOME / "media"
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
EVIDENCE_MAX_BYTES = 10 * 1024 * 1024

# Background jobs (django-tasks): the database backend, run by `qiangcun db_worker`
# (`qiangcun demo` starts one). QIANGCUN_TASKS_BACKEND=immediate runs jobs inline instead.
TASKS = {
    "default": {
        "BACKEND": {
            "database": "django_tasks_db.DatabaseBackend",
            "immediate": "django_tasks.backends.immediate.ImmediateBackend",
        }.get(env_str("QIANGCUN_TASKS_BACKEND", "database"), "django_tasks_db.DatabaseBackend")
    }
}
# Workbooks larger than this are checked and imported by the background worker, with a progress bar.
IMPORT_BACKGROUND_BYTES = env_int("QIANGCUN_IMPORT_BACKGROUND_KB", 256) * 1024
# Exports of more rows than this are written by the background worker, with a progress bar (a request
# must answer well within gunicorn's 30 s; 20,000 ledger rows take about 1 s).
EXPORT_JOB_ROWS = env_int("QIANGCUN_EXPORT_JOB_ROWS", 20_000)

# Scheduled backups (`qiangcun serve`'s worker): every day at QIANGCUN_BACKUP_HOUR o'clock local time,
# keeping the newest QIANGCUN_BACKUP_KEEP backups in QIANGCUN_HOME/backups.
BACKUP_KEEP = env_int("QIANGCUN_BACKUP_KEEP", 14)
BACKUP_HOUR = env_int("QIANGCUN_BACKUP_HOUR", 2)
if BACKUP_KEEP < 1:
    raise ImproperlyConfigured(f"QIANGCUN_BACKUP_KEEP={BACKUP_KEEP}: keep at least 1 backup")
if not 0 <= BACKUP_HOUR <= 23:
    raise ImproperlyConfigured(f"QIANGCUN_BACKUP_HOUR={BACKUP_HOUR}: expected an hour from 0 to 23")

# Excel import limits (QIANGCUN_IMPORT_MAX_MB, QIANGCUN_IMPORT_MAX_ROWS).
IMPORT_MAX_BYTES = env_int("QIANGCUN_IMPORT_MAX_MB", 20) * 1024 * 1024
IMPORT_MAX_ROWS = env_int("QIANGCUN_IMPORT_MAX_ROWS", 200_000)
IMPORT_MAX_COLS = 200
IMPORT_MAX_UNZIPPED_BYTES = 250 * 1024 * 1024
IMPORT_MAX_RATIO = 200
IMPORT_MAX_ENTRIES = 500

# --- Security: HTTPS behind a proxy, headers ------------------------------------------------------------
# QIANGCUN_HTTPS=1: the site is served over HTTPS by a reverse proxy (nginx) that sets X-Forwarded-Proto.
# Cookies are sent over HTTPS only, plain HTTP is redirected, HSTS asks browsers to keep to HTTPS for a
# year (with subdomains unless QIANGCUN_HSTS_SUBDOMAINS=0; the preload directive follows
# QIANGCUN_HSTS_PRELOAD, by default on together with subdomains), and the origins in ALLOWED_HOSTS are
# trusted for CSRF as https://host. Without it (the demo, a PC on the office network) all of this is off
# and the site works over plain http.
HTTPS = env_bool("QIANGCUN_HTTPS")
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Content-Security-Policy on every response (django-csp): everything from the app itself, no inline script
# or style, no plugins, never framed. Evidence files keep their own stricter, sandboxed policy.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    }
}
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = 365 * 24 * 60 * 60
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("QIANGCUN_HSTS_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("QIANGCUN_HSTS_PRELOAD", SECURE_HSTS_INCLUDE_SUBDOMAINS)
    CSRF_TRUSTED_ORIGINS = [
        "https://" + ("*" + host if host.startswith(".") else host) for host in ALLOWED_HOSTS if host != "*"
    ]

#: Error reports (the debug page, mails to ADMINS) mask phone and ID numbers as well as passwords and keys.
DEFAULT_EXCEPTION_REPORTER_FILTER = "qiangcun.core.pii.PersonalInfoReporterFilter"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
