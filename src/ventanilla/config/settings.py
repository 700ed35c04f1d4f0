"""Settings, read from the environment (12-factor). Every variable is documented in the README."""

import os
import secrets
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VENTANILLA_VAR_DIR", Path.cwd() / "var")).resolve()
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_flag(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def _secret_key() -> str:
    """A key from the environment, else one generated once into VAR_DIR so restarts keep sessions valid."""
    if key := os.environ.get("VENTANILLA_SECRET_KEY"):
        return key
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_flag("VENTANILLA_DEBUG")
ALLOWED_HOSTS = env_list("VENTANILLA_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("VENTANILLA_CSRF_TRUSTED_ORIGINS", "")
if env_flag("VENTANILLA_HTTPS"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = 31536000

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_tasks",
    "django_tasks_db",
    "ventanilla.core",
    "ventanilla.identity",
    "ventanilla.web",
    "ventanilla.catalogue",
    "ventanilla.forms",
    "ventanilla.workflow",
    "ventanilla.cases",
    "ventanilla.notify",
    "ventanilla.payments",
    "ventanilla.documents",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "ventanilla.core.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "ventanilla.core.middleware.ApiLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "ventanilla.identity.middleware.PrincipalMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "ventanilla.config.urls"
WSGI_APPLICATION = "ventanilla.config.wsgi.application"

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
                "ventanilla.web.context_processors.site",
                "ventanilla.notify.context_processors.unread_messages",
            ],
        },
    },
]

DATABASE_URL = os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'ventanilla.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets readers run beside the one writer; IMMEDIATE takes the write lock up front, so two
        # writers queue (up to the timeout) instead of failing halfway through a transaction.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
DATABASES["default"]["TEST"] = (
    {"NAME": os.environ.get("VENTANILLA_TEST_DATABASE_NAME")}
    if os.environ.get("VENTANILLA_TEST_DATABASE_NAME")
    else {}
)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "identity.User"

AUTH_PASSWORD_VALIDATORS = [  # NIST SP 800-63B: length and known-bad lists, no composition rules
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "ventanilla.identity.passwords.MaximumLengthValidator", "OPTIONS": {"max_length": 128}},
    {"NAME": "ventanilla.identity.passwords.KnownPasswordValidator"},  # includes Django's common passwords
    {"NAME": "ventanilla.identity.passwords.PersonalContextValidator"},
    {"NAME": "ventanilla.identity.passwords.RepetitionValidator"},
    # Near misses of the person's details ("mariaperes") that containment alone does not catch.
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
]

# Background work: Django's tasks API with a database-backed queue, so any number of `ventanilla worker`
# processes on any machine share the queue through the same database.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

LANGUAGE_CODE = "es"
LANGUAGES = [("es", "Español"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "America/Panama"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
MEDIA_ROOT = Path(os.environ.get("VENTANILLA_MEDIA_ROOT", VAR_DIR / "media"))
MEDIA_URL = "/media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Files people give as evidence: never served directly, only through views that check who asks.
    "private": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": Path(os.environ.get("VENTANILLA_PRIVATE_ROOT", VAR_DIR / "private"))},
    },
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_MAX_AGE = 3600

LOGIN_URL = "identity:sign-in"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("VENTANILLA_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Where the reference data lives (a folder of YAML files; see data/panama/README.md).
VENTANILLA_REFERENCE_DATA = Path(
    os.environ.get("VENTANILLA_REFERENCE_DATA", BASE_DIR.parent.parent / "data" / "panama")
)
# How many procedures `ventanilla serve` tops the catalogue up to on first start (the seed's 2,700 + 1,463).
VENTANILLA_CATALOGUE_SIZE = int(os.environ.get("VENTANILLA_CATALOGUE_SIZE", "4163"))
VENTANILLA_SITE_NAME = os.environ.get("VENTANILLA_SITE_NAME", "Panamá en Línea")
# The public address of this deployment: used in open data IRIs and links sent out of the platform.
VENTANILLA_PUBLIC_URL = os.environ.get("VENTANILLA_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
# The country, as an EU authority-table code (ISO 3166-1 alpha-3), and the open data licence.
VENTANILLA_COUNTRY = os.environ.get("VENTANILLA_COUNTRY", "PAN")
VENTANILLA_OPEN_DATA_LICENCE = os.environ.get(
    "VENTANILLA_OPEN_DATA_LICENCE", "https://creativecommons.org/licenses/by/4.0/"
)

# Official documents: where private keys are kept (see documents/plugins), and how long what is issued lasts.
VENTANILLA_KEY_STORE = os.environ.get("VENTANILLA_KEY_STORE", "files")
VENTANILLA_KEYS_DIR = Path(os.environ.get("VENTANILLA_KEYS_DIR", VAR_DIR / "keys"))
# The policy under which the timestamp authority stamps (an OID the operator registers; this one is illustrative).
VENTANILLA_TSA_POLICY = os.environ.get("VENTANILLA_TSA_POLICY", "1.3.6.1.4.1.59999.1.1")
VENTANILLA_SHARE_LINK_DAYS = int(os.environ.get("VENTANILLA_SHARE_LINK_DAYS", "7"))

# Failed attempts allowed per 15 minutes before a lockout, per kind of key (see identity/throttling.py).
VENTANILLA_THROTTLE = {"account": 5, "code": 5, "address": 50}

# Mail: SMTP when VENTANILLA_SMTP_HOST is set; otherwise messages are printed on the console (local demo).
if os.environ.get("VENTANILLA_SMTP_HOST"):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = os.environ["VENTANILLA_SMTP_HOST"]
    EMAIL_PORT = int(os.environ.get("VENTANILLA_SMTP_PORT", "25"))
    EMAIL_HOST_USER = os.environ.get("VENTANILLA_SMTP_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("VENTANILLA_SMTP_PASSWORD", "")
    EMAIL_USE_TLS = env_flag("VENTANILLA_SMTP_STARTTLS")
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = os.environ.get("VENTANILLA_MAIL_FROM", "no-reply@ventanilla.invalid")
VENTANILLA_MAIL_DOMAIN = DEFAULT_FROM_EMAIL.rpartition("@")[2] or "ventanilla.invalid"

# Notifications (see ventanilla.notify): which provider serves each channel, and how sending is retried.
VENTANILLA_EMAIL_PROVIDER = os.environ.get("VENTANILLA_EMAIL_PROVIDER", "mail")
VENTANILLA_SMS_PROVIDER = os.environ.get("VENTANILLA_SMS_PROVIDER", "sandbox")
VENTANILLA_SMS_SANDBOX_URL = os.environ.get("VENTANILLA_SMS_SANDBOX_URL", "http://127.0.0.1:8026").rstrip("/")
# Shared by the platform and the sandbox SMS process it starts; any value will do for the sandbox.
VENTANILLA_SMS_SANDBOX_SECRET = os.environ.get("VENTANILLA_SMS_SANDBOX_SECRET", "sandbox-sms-shared-secret")
VENTANILLA_NOTIFY_TIMEOUT = float(os.environ.get("VENTANILLA_NOTIFY_TIMEOUT", "10"))
# A message a provider could not take is retried after 30 s, 1 min, 2 min, … (at most an hour apart).
VENTANILLA_NOTIFY_RETRY_SECONDS = float(os.environ.get("VENTANILLA_NOTIFY_RETRY_SECONDS", "30"))
VENTANILLA_NOTIFY_MAX_ATTEMPTS = int(os.environ.get("VENTANILLA_NOTIFY_MAX_ATTEMPTS", "15"))
# Emails and texts keep their words this many days after they settled; in-account messages stay.
VENTANILLA_NOTIFY_RETENTION_DAYS = int(os.environ.get("VENTANILLA_NOTIFY_RETENTION_DAYS", "90"))

# Payments (see ventanilla.payments): the providers a payer may choose, in order ("counter" is the cashiers' own
# channel), the sandbox gateway the platform starts, and how long an unfinished payment may wait.
VENTANILLA_PAYMENT_PROVIDERS = [
    name.strip()
    for name in os.environ.get("VENTANILLA_PAYMENT_PROVIDERS", "sandbox,counter").split(",")
    if name
]
VENTANILLA_PAYMENTS_CURRENCIES = ["USD", "PAB"]  # the balboa circulates at par with the dollar
VENTANILLA_PAYMENTS_SANDBOX_URL = os.environ.get(
    "VENTANILLA_PAYMENTS_SANDBOX_URL", "http://127.0.0.1:8027"
).rstrip("/")
# Shared by the platform and the sandbox gateway process it starts; any value will do for the sandbox.
VENTANILLA_PAYMENTS_SANDBOX_SECRET = os.environ.get(
    "VENTANILLA_PAYMENTS_SANDBOX_SECRET", "sandbox-pay-shared-secret"
)
VENTANILLA_PAYMENTS_TIMEOUT = float(os.environ.get("VENTANILLA_PAYMENTS_TIMEOUT", "10"))
VENTANILLA_PAYMENTS_EXPIRE_MINUTES = int(os.environ.get("VENTANILLA_PAYMENTS_EXPIRE_MINUTES", "30"))
# A started or submitted payment nobody told us about is checked with its provider after this long, then less often.
VENTANILLA_PAYMENTS_CHECK_AFTER_SECONDS = int(
    os.environ.get("VENTANILLA_PAYMENTS_CHECK_AFTER_SECONDS", "120")
)
# A payer back from the provider's page, or a client polling, makes the platform ask the provider after this long.
VENTANILLA_PAYMENTS_REFRESH_SECONDS = int(os.environ.get("VENTANILLA_PAYMENTS_REFRESH_SECONDS", "5"))
# Payments settled this close to midnight may be in the provider's report of the neighbouring day.
VENTANILLA_PAYMENTS_SETTLEMENT_MARGIN_MINUTES = 30
