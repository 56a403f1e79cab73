"""One settings module, driven by the environment only.

Variables: ``QIANGCUN_HOME`` (data folder, default ``./var``), ``DATABASE_URL`` (default: SQLite file
``qiangcun.sqlite3`` in ``QIANGCUN_HOME``), ``SECRET_KEY`` (generated into ``QIANGCUN_HOME`` when absent),
``DEBUG``, ``ALLOWED_HOSTS``, ``QIANGCUN_DEMO`` (show the demo accounts on the login page) and
``QIANGCUN_TODAY`` (pin "today", used by the demo to stand on 2020-04-17).
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

INSTALLED_APPS = [
    "whitenoise.runserver_nostatic",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_tasks",
    "django_tasks_db",
    "ninja",
    "qiangcun.core",
    "qiangcun.orgs",
    "qiangcun.accounts",
    "qiangcun.ledger",
    "qiangcun.targets",
    "qiangcun.plans",
    "qiangcun.supervision",
    "qiangcun.imports",
    "qiangcun.reports",
    "qiangcun.web",
    "qiangcun.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "qiangcun.accounts.middleware.PasswordChangeRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
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
    DATABASES = {"default": dj_database_url.parse(env_str("DATABASE_URL", _default_db), conn_max_age=60)}
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
AUTHENTICATION_BACKENDS = ["qiangcun.accounts.backends.CaseInsensitiveModelBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_AGE = 60 * 60 * 12
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "qiangcun.accounts.validators.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ("username", "display_name", "phone")},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

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

X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
