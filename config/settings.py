"""Settings, all read from the environment (django-environ).

Every value has a default that runs the hub on one machine with nothing
installed: SQLite (WAL mode), a filesystem Celery broker, in-process rate
limits and breakers, and the platform simulators on localhost. Production
sets DATABASE_URL, REDIS_URL, SECRET_KEY, FIELD_ENCRYPTION_KEYS and the
platform URLs and credentials (see README.md, "Configuration").
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("HUB_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()
env.read_env(BASE_DIR / ".env", overwrite=False)

# The default key only serves local runs; `check --deploy` flags it (W009).
SECRET_KEY = env.str("SECRET_KEY", default="django-insecure-local-development-key-change-me")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "apps.core.apps.HubAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "apps.core.apps.CoreConfig",
    "apps.dimona.apps.DimonaConfig",
    "apps.symphonics.apps.SymphonicsConfig",
    "apps.restosync.apps.RestosyncConfig",
    "apps.tuniclaim.apps.TuniclaimConfig",
    "apps.integrations.apps.IntegrationsConfig",
]

MIDDLEWARE = [
    "apps.core.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The browser's language (or the set_language cookie); after sessions,
    # before CommonMiddleware, as Django documents.
    # https://docs.djangoproject.com/en/5.2/topics/i18n/translation/#how-django-discovers-language-preference
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # A signed-in user's own language and time zone win over the browser's.
    "apps.core.locale.UserLocaleMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
            ],
        },
    },
]

# --- Database -------------------------------------------------------------
# https://django-environ.readthedocs.io/en/latest/types.html#environ-env-db-url
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'hub.sqlite3'}"),
}
# How long a statement waits for a lock held by another connection before it
# fails: SQLite's busy timeout, PostgreSQL's lock_timeout. Kept short because
# the webhook inbox answers 503 with Retry-After when it cannot store, and
# that answer must reach the sender before its own timeout (often 5 s), or it
# sees a timeout instead and may drop the event. It applies to every process
# (web, workers, beat, migrate): a longer wait there is an error, retried.
# https://www.postgresql.org/docs/current/runtime-config-client.html#GUC-LOCK-TIMEOUT
# https://docs.djangoproject.com/en/5.2/ref/databases/#database-is-locked-errors
DATABASE_LOCK_TIMEOUT_SECONDS = env.float("DATABASE_LOCK_TIMEOUT_SECONDS", default=2.5)
_db_options = DATABASES["default"].setdefault("OPTIONS", {})
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web, worker and beat processes read while one writes;
    # IMMEDIATE transactions avoid "database is locked" on lock upgrades.
    # https://docs.djangoproject.com/en/5.2/ref/databases/#sqlite-notes
    _db_options.update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": DATABASE_LOCK_TIMEOUT_SECONDS,
        }
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("CONN_HEALTH_CHECKS", default=True)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Added to any `options` the URL gives; libpq takes milliseconds here.
    # https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-CONNECT-OPTIONS
    _lock_timeout = f"-c lock_timeout={round(DATABASE_LOCK_TIMEOUT_SECONDS * 1000)}"
    _db_options["options"] = " ".join(filter(None, [_db_options.get("options"), _lock_timeout]))
    # Seconds to reach the server: an unreachable one fails at once rather
    # than after the system's TCP timeout (minutes). A URL's own value wins.
    # https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-CONNECT-CONNECT-TIMEOUT
    _db_options.setdefault("connect_timeout", 3)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis, cache, Celery -------------------------------------------------
# REDIS_URL is optional. Without it the rate limiter, circuit breaker, token
# cache and token locks keep their state in the database (apps.core.store),
# shared by every process, and Celery uses a filesystem broker, so nothing
# needs to be installed to try the hub.
REDIS_URL = env.str("REDIS_URL", default="")

if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                    "LOCATION": REDIS_URL},
        "throttle": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                     "LOCATION": REDIS_URL, "KEY_PREFIX": "throttle"},
    }
else:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        # Attempts at a secret (token endpoint, cron) are counted in the
        # database rather than in each process's memory, so the limit holds
        # across every web process. The table is made by `manage.py
        # createcachetable` (scripts/run.sh runs it).
        # https://docs.djangoproject.com/en/5.2/topics/cache/#database-caching
        "throttle": {"BACKEND": "django.core.cache.backends.db.DatabaseCache",
                     "LOCATION": "hub_throttle_cache"},
    }

# https://docs.celeryq.dev/en/stable/django/first-steps-with-django.html
# The filesystem transport ignores the host, but kombu warns when none is given.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://localhost//")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    for _folder in ("queue", "processed", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        # Broadcast (worker control) messages; kombu's default is ./control.
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
# Task results are never read: outcomes live in the database (outbox, logs).
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "Europe/Brussels"
CELERY_ENABLE_UTC = True
# Acknowledge after the task ran, so a worker killed mid-task leaves the
# message for another one; the outbox lease covers the rest.
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# django-celery-beat's scheduler, made to wait out a locked or unreachable
# database instead of exiting (apps/core/beat.py).
CELERY_BEAT_SCHEDULER = "apps.core.beat:ResilientDatabaseScheduler"
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)

# --- Auth, i18n, time -----------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# English is the source language and the fallback when neither the user's
# preference nor the browser names one of LANGUAGES.
# https://docs.djangoproject.com/en/5.2/topics/i18n/translation/#how-django-discovers-language-preference
LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", _("English")),
    ("fr", _("French")),
    ("nl", _("Dutch")),
]
# The catalogues are kept as .po in the repository; `manage.py
# compile_translations` writes the .mo files next to them (not committed).
LOCALE_PATHS = [BASE_DIR / "locale"]
# Our English shows dates day first and times on a 24-hour clock.
FORMAT_MODULE_PATH = ["config.formats"]
USE_I18N = True
# Stored in UTC; shown in the user's zone (their preference, apps.core.locale),
# in Brussels time when they have none.
USE_TZ = True
TIME_ZONE = "Europe/Brussels"

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
LOGIN_URL = "admin:login"

# --- Security (check --deploy) --------------------------------------------
# https://docs.djangoproject.com/en/5.2/howto/deployment/checklist/
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=False)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=False)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# --- Encryption of secrets and personal data ------------------------------
# Comma-separated Fernet keys; the first encrypts, all decrypt (rotation:
# put the new key first, run `manage.py rotate_encryption_keys`, then drop
# the old one). The default key is for local runs only.
FIELD_ENCRYPTION_KEYS = env.list(
    "FIELD_ENCRYPTION_KEYS", default=["2uNpVuNzONj9ZrJqVRgmLwMQx7h8vBf0tRz6gXz2b4Y="]
)

# --- REST API -------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first: DRF answers "not authenticated" with the first class's
    # WWW-Authenticate challenge, and without one (sessions) turns the 401
    # into a 403. https://www.django-rest-framework.org/api-guide/authentication/#unauthorized-and-forbidden-responses
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.core.api.authentication.HashedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["apps.core.api.permissions.IsManager"],
    "DEFAULT_PAGINATION_CLASS": "apps.core.api.pagination.StandardPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "EXCEPTION_HANDLER": "apps.core.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "apps.core.api.schema.HubAutoSchema",
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.UserRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "user": env.str("API_THROTTLE_USER", default="1000/minute"),
        # Per client address, every attempt counted (apps/core/api/throttling.py).
        "auth": env.str("API_THROTTLE_AUTH", default="20/minute"),
        "cron": env.str("API_THROTTLE_CRON", default="10/minute"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Workforce integration hub API",
    "DESCRIPTION": "Dimona, Symphonics, restaurant platforms, MY TUNICLAIM and calendars.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI and ReDoc from our own static files (drf-spectacular-sidecar),
    # not a CDN: the docs work offline and on a pinned version.
    # https://drf-spectacular.readthedocs.io/en/latest/settings.html
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several models have a "status"; name each enum after its model.
    "ENUM_NAME_OVERRIDES": {
        "ShiftStatusEnum": "apps.dimona.models.Shift.Status",
        "DeclarationStatusEnum": "apps.dimona.models.DimonaDeclaration.Status",
        "InterventionStatusEnum": "apps.symphonics.models.Intervention.Status",
        "ReservationStatusEnum": "apps.restosync.models.Reservation.Status",
        "ReservationSourceEnum": "apps.restosync.models.Reservation.Source",
        "SyncEntityEnum": "apps.restosync.models.SYNC_ENTITIES",
        "BordereauStatusEnum": "apps.tuniclaim.models.Bordereau.Status",
        "BulletinSoinStatusEnum": "apps.tuniclaim.models.BulletinSoin.Status",
        "SyncRunStatusEnum": "apps.core.models.SyncRun.Status",
        "IntegrationTypeEnum": "apps.integrations.models.Integration.Type",
        "EventTypeEnum": "apps.integrations.models.Event.Type",
        "AttendanceStatusEnum": "apps.integrations.models.Attendance.Status",
        "ConnectionStatusEnum": "apps.core.models.Connection.Status",
        "SyncTriggerEnum": "apps.core.models.SyncRun.Trigger",
        "SyncDirectionEnum": "apps.integrations.settings_schema.SYNC_DIRECTIONS",
    },
}

# --- Integration core -----------------------------------------------------
# Webhook bodies above this size are refused with 413 before being stored.
WEBHOOK_MAX_BODY_BYTES = env.int("WEBHOOK_MAX_BODY_BYTES", default=1024 * 1024)
# Deliveries with an invalid signature are counted per source address
# (REMOTE_ADDR; IPv6 per /64) in the shared store: past this many in the
# sliding window, further ones are answered 429 with Retry-After and not
# stored. Signed deliveries are never counted nor throttled. 0 turns it off.
# Behind a proxy, REMOTE_ADDR is the proxy's: all forgers then share one count.
WEBHOOK_REJECTED_PER_ADDRESS_LIMIT = env.int("WEBHOOK_REJECTED_PER_ADDRESS_LIMIT", default=30)
WEBHOOK_REJECTED_PER_ADDRESS_WINDOW_SECONDS = env.int(
    "WEBHOOK_REJECTED_PER_ADDRESS_WINDOW_SECONDS", default=300)
# Retention, enforced every night by the core.purge_webhooks task: rejected
# deliveries, then processed, ignored and duplicate ones, are deleted after
# this many days. Accepted, processing and failed events are always kept.
WEBHOOK_REJECTED_RETENTION_DAYS = env.int("WEBHOOK_REJECTED_RETENTION_DAYS", default=30)
WEBHOOK_PROCESSED_RETENTION_DAYS = env.int("WEBHOOK_PROCESSED_RETENTION_DAYS", default=90)
# Outbox: how long an operation stays a worker's without news from it. The
# worker renews the lease every third of it while the handler runs, so a
# killed worker's operations are taken back by the next sweep once it ends.
OUTBOX_LEASE_SECONDS = env.int("OUTBOX_LEASE_SECONDS", default=30)
# Outgoing webhooks (apps/core/outgoing.py). Deliveries go only to hosts
# resolving to public addresses, checked when an endpoint is saved and again
# when each request connects; True lets them reach private, loopback and
# link-local addresses too: for development and tests only, never production.
OUTGOING_WEBHOOKS_ALLOW_PRIVATE = env.bool("OUTGOING_WEBHOOKS_ALLOW_PRIVATE", default=False)
# An endpoint is disabled (with an attention item) after this many
# consecutive dead deliveries; a manager re-enables it.
OUTGOING_WEBHOOKS_DISABLE_AFTER = env.int("OUTGOING_WEBHOOKS_DISABLE_AFTER", default=5)
HUB_BASE_URL = env.str("HUB_BASE_URL", default="http://127.0.0.1:8000")

# --- Simulators -----------------------------------------------------------
# Each platform's client points at its local simulator unless a real base
# URL is configured below. `manage.py run_simulators` serves them all.
SIMULATOR_HOST = env.str("SIMULATOR_HOST", default="127.0.0.1")
SIMULATORS = {
    "dimona": {"factory": "apps.dimona.simulator.build", "port": env.int("DIMONA_SIM_PORT", 8101)},
    "symphonics": {
        "factory": "apps.symphonics.simulator.build",
        "port": env.int("SYMPHONICS_SIM_PORT", 8102),
    },
    "zenchef": {"factory": "apps.restosync.simulator.build",
                "port": env.int("ZENCHEF_SIM_PORT", 8103)},
    "tuniclaim": {"factory": "apps.tuniclaim.simulator.build",
                  "port": env.int("TUNICLAIM_SIM_PORT", 8104)},
    "google": {"factory": "apps.integrations.simulator.google.build",
               "port": env.int("GOOGLE_SIM_PORT", 8105)},
    "microsoft": {"factory": "apps.integrations.simulator.microsoft.build",
                  "port": env.int("MICROSOFT_SIM_PORT", 8106)},
    "slack": {"factory": "apps.integrations.simulator.slack.build",
              "port": env.int("SLACK_SIM_PORT", 8107)},
    "zoom": {"factory": "apps.integrations.simulator.zoom.build",
             "port": env.int("ZOOM_SIM_PORT", 8108)},
}


def _simulator_url(name: str, path: str = "") -> str:
    return f"http://{SIMULATOR_HOST}:{SIMULATORS[name]['port']}{path}"


# --- Dimona (ONSS) --------------------------------------------------------
DIMONA_API_URL = env.str("DIMONA_API_URL", default=_simulator_url("dimona", "/REST/dimona/v2"))
DIMONA_TOKEN_URL = env.str(
    "DIMONA_TOKEN_URL",
    default=DIMONA_API_URL.split("/REST/")[0] + "/REST/oauth/v5/token",
)
DIMONA_CLIENT_ID = env.str("DIMONA_CLIENT_ID", default="self_service_chaman_000000_simulator")
DIMONA_PRIVATE_KEY = env.str("DIMONA_PRIVATE_KEY", default="", multiline=True)
DIMONA_CERTIFICATE = env.str("DIMONA_CERTIFICATE", default="", multiline=True)
DIMONA_ENTERPRISE_NUMBER = env.str("DIMONA_ENTERPRISE_NUMBER", default="")
CRON_SECRET = env.str("CRON_SECRET", default="")
# Seconds to wait for the ONSS to answer a request (connect is always 5 s).
DIMONA_READ_TIMEOUT_SECONDS = env.float("DIMONA_READ_TIMEOUT_SECONDS", default=30.0)
# Validated hours further than this from the declared ones trigger a Dimona-Update.
DIMONA_UPDATE_THRESHOLD_MINUTES = env.int("DIMONA_UPDATE_THRESHOLD_MINUTES", default=15)
# After a send whose outcome is unknown, how long to keep looking for the
# period before sending again (the ONSS usually processes within seconds).
DIMONA_RECONCILE_WAIT_SECONDS = env.int("DIMONA_RECONCILE_WAIT_SECONDS", default=120)

# --- Zenchef (Formitable v1.2) --------------------------------------------
# docs/restosync.md. Production: https://api.formitable.com (a connection may
# override it); the connector adds /api/v1.2/.
ZENCHEF_API_URL = env.str("ZENCHEF_API_URL", default=_simulator_url("zenchef"))
# The `source` Zenchef records for our bookings, which its external-reference
# look-up (booking/external/{source}/{ref}) is keyed by.
ZENCHEF_EXTERNAL_SOURCE = env.str("ZENCHEF_EXTERNAL_SOURCE", default="workforce-hub")
# The platform's quota per restaurant; only tests and benchmarks shorten the window.
ZENCHEF_RATE_LIMIT_PER_MINUTE = env.int("ZENCHEF_RATE_LIMIT_PER_MINUTE", default=100)
ZENCHEF_RATE_WINDOW_SECONDS = env.float("ZENCHEF_RATE_WINDOW_SECONDS", default=60.0)
ZENCHEF_READ_TIMEOUT_SECONDS = env.float("ZENCHEF_READ_TIMEOUT_SECONDS", default=15.0)

# --- MY TUNICLAIM -----------------------------------------------------------
# docs/tuniclaim.md. The platform's base URL (its paths start with /api/);
# it has no public documentation, so the hub speaks the format of docs/tuniclaim.md.
TUNICLAIM_API_URL = env.str("TUNICLAIM_API_URL", default=_simulator_url("tuniclaim"))
# Sent as "Authorization: Bearer <token>" when set.
TUNICLAIM_API_TOKEN = env.str("TUNICLAIM_API_TOKEN", default="")
TUNICLAIM_READ_TIMEOUT_SECONDS = env.float("TUNICLAIM_READ_TIMEOUT_SECONDS", default=15.0)
TUNICLAIM_PAGE_SIZE = env.int("TUNICLAIM_PAGE_SIZE", default=50)
# An incremental import asks for what changed since the last good run minus this.
TUNICLAIM_LOOKBACK_MINUTES = env.int("TUNICLAIM_LOOKBACK_MINUTES", default=15)
# Who receives the import reports, and from how many claims an import is "large".
TUNICLAIM_REPORT_RECIPIENTS = env.list("TUNICLAIM_REPORT_RECIPIENTS", default=[])
TUNICLAIM_LARGE_IMPORT_CLAIMS = env.int("TUNICLAIM_LARGE_IMPORT_CLAIMS", default=1000)

# --- Integrations: Google, Microsoft 365, Slack, Zoom ------------------------
# docs/integrations.md. Each provider's endpoints default to its simulator;
# the real ones are in the comments. Client ids and secrets come from each
# provider's developer console (the simulators accept these defaults).
GOOGLE_AUTH_URL = env.str("GOOGLE_AUTH_URL", default=_simulator_url("google", "/o/oauth2/v2/auth"))
# real: https://accounts.google.com/o/oauth2/v2/auth
GOOGLE_TOKEN_URL = env.str("GOOGLE_TOKEN_URL", default=_simulator_url("google", "/token"))
# real: https://oauth2.googleapis.com/token
GOOGLE_REVOKE_URL = env.str("GOOGLE_REVOKE_URL", default=_simulator_url("google", "/revoke"))
# real: https://oauth2.googleapis.com/revoke
GOOGLE_API_URL = env.str("GOOGLE_API_URL", default=_simulator_url("google", "/calendar/v3"))
# real: https://www.googleapis.com/calendar/v3
GOOGLE_USERINFO_URL = env.str("GOOGLE_USERINFO_URL",
                              default=_simulator_url("google", "/oauth2/v3/userinfo"))
# real: https://openidconnect.googleapis.com/v1/userinfo
GOOGLE_CLIENT_ID = env.str("GOOGLE_CLIENT_ID", default="simulator-google-client")
GOOGLE_CLIENT_SECRET = env.str("GOOGLE_CLIENT_SECRET", default="simulator-google-secret")

MICROSOFT_AUTH_URL = env.str("MICROSOFT_AUTH_URL",
                             default=_simulator_url("microsoft", "/common/oauth2/v2.0/authorize"))
# real: https://login.microsoftonline.com/common/oauth2/v2.0/authorize
MICROSOFT_TOKEN_URL = env.str("MICROSOFT_TOKEN_URL",
                              default=_simulator_url("microsoft", "/common/oauth2/v2.0/token"))
# real: https://login.microsoftonline.com/common/oauth2/v2.0/token
# Microsoft identity has no RFC 7009 revocation endpoint: disconnecting forgets the tokens.
MICROSOFT_REVOKE_URL = env.str("MICROSOFT_REVOKE_URL", default="")
MICROSOFT_API_URL = env.str("MICROSOFT_API_URL", default=_simulator_url("microsoft", "/v1.0"))
# real: https://graph.microsoft.com/v1.0
MICROSOFT_CLIENT_ID = env.str("MICROSOFT_CLIENT_ID", default="simulator-microsoft-client")
MICROSOFT_CLIENT_SECRET = env.str("MICROSOFT_CLIENT_SECRET",
                                  default="simulator-microsoft-secret")

SLACK_AUTH_URL = env.str("SLACK_AUTH_URL", default=_simulator_url("slack", "/oauth/v2/authorize"))
# real: https://slack.com/oauth/v2/authorize
SLACK_TOKEN_URL = env.str("SLACK_TOKEN_URL",
                          default=_simulator_url("slack", "/api/oauth.v2.access"))
# real: https://slack.com/api/oauth.v2.access
SLACK_REVOKE_URL = env.str("SLACK_REVOKE_URL", default=_simulator_url("slack", "/api/auth.revoke"))
# real: https://slack.com/api/auth.revoke
SLACK_API_URL = env.str("SLACK_API_URL", default=_simulator_url("slack", "/api"))
# real: https://slack.com/api
SLACK_CLIENT_ID = env.str("SLACK_CLIENT_ID", default="simulator-slack-client")
SLACK_CLIENT_SECRET = env.str("SLACK_CLIENT_SECRET", default="simulator-slack-secret")
SLACK_SIGNING_SECRET = env.str("SLACK_SIGNING_SECRET", default="simulator-slack-signing-secret")

ZOOM_AUTH_URL = env.str("ZOOM_AUTH_URL", default=_simulator_url("zoom", "/oauth/authorize"))
# real: https://zoom.us/oauth/authorize
ZOOM_TOKEN_URL = env.str("ZOOM_TOKEN_URL", default=_simulator_url("zoom", "/oauth/token"))
# real: https://zoom.us/oauth/token
ZOOM_REVOKE_URL = env.str("ZOOM_REVOKE_URL", default=_simulator_url("zoom", "/oauth/revoke"))
# real: https://zoom.us/oauth/revoke
ZOOM_API_URL = env.str("ZOOM_API_URL", default=_simulator_url("zoom", "/v2"))
# real: https://api.zoom.us/v2
ZOOM_CLIENT_ID = env.str("ZOOM_CLIENT_ID", default="simulator-zoom-client")
ZOOM_CLIENT_SECRET = env.str("ZOOM_CLIENT_SECRET", default="simulator-zoom-secret")
ZOOM_WEBHOOK_SECRET = env.str("ZOOM_WEBHOOK_SECRET", default="simulator-zoom-webhook-secret")
# Below this share of the expected attendees present, an imported attendance
# sends the Slack attendance alert (the seed's attendanceAlert template).
INTEGRATIONS_LOW_ATTENDANCE_RATE = env.float("INTEGRATIONS_LOW_ATTENDANCE_RATE", default=0.5)

# --- Symphonics -----------------------------------------------------------
# Setup and flows: docs/symphonics.md. SYMPHONICS_ENVIRONMENT picks the base
# URL (the token endpoint is its /auth/token); SYMPHONICS_API_URL overrides it.
SYMPHONICS_URLS = {
    "production": "https://api.symphonics.fr",
    "sandbox": "https://sandbox-api.symphonics.fr",
    "simulator": _simulator_url("symphonics"),
}
SYMPHONICS_ENVIRONMENT = env.str("SYMPHONICS_ENVIRONMENT", default="simulator")
if SYMPHONICS_ENVIRONMENT not in SYMPHONICS_URLS:
    raise ImproperlyConfigured(
        f"SYMPHONICS_ENVIRONMENT must be one of {', '.join(SYMPHONICS_URLS)}.")
SYMPHONICS_API_URL = env.str("SYMPHONICS_API_URL",
                             default=SYMPHONICS_URLS[SYMPHONICS_ENVIRONMENT])
SYMPHONICS_CLIENT_ID = env.str("SYMPHONICS_CLIENT_ID", default="simulator-client")
SYMPHONICS_CLIENT_SECRET = env.str("SYMPHONICS_CLIENT_SECRET", default="simulator-secret")
SYMPHONICS_WEBHOOK_SECRET = env.str("SYMPHONICS_WEBHOOK_SECRET", default="simulator-webhook-secret")
# The contract's quotas per client. The window is a minute; only benchmarks
# and tests shorten it (the day window is then shortened in proportion).
SYMPHONICS_RATE_LIMIT_PER_MINUTE = env.int("SYMPHONICS_RATE_LIMIT_PER_MINUTE", default=100)
SYMPHONICS_RATE_LIMIT_PER_DAY = env.int("SYMPHONICS_RATE_LIMIT_PER_DAY", default=5000)
SYMPHONICS_RATE_WINDOW_SECONDS = env.float("SYMPHONICS_RATE_WINDOW_SECONDS", default=60.0)
SYMPHONICS_READ_TIMEOUT_SECONDS = env.float("SYMPHONICS_READ_TIMEOUT_SECONDS", default=30.0)
# Publish an intervention as soon as it is recorded as completed; when off,
# a manager publishes it ("publish" in the admin or the API).
SYMPHONICS_PUBLISH_ON_COMPLETION = env.bool("SYMPHONICS_PUBLISH_ON_COMPLETION", default=True)
# Positive answers of the validation endpoints (a valid PDL, an existing
# user, a PDL found for an address) are cached this long; negative ones never.
SYMPHONICS_VALIDATION_CACHE_SECONDS = env.int("SYMPHONICS_VALIDATION_CACHE_SECONDS",
                                              default=6 * 3600)
# The periodic poll asks for the status of open interventions Symphonics has
# said nothing about for this long (webhooks normally keep them current), at
# most SYMPHONICS_POLL_BATCH per run so polling never eats the quota.
SYMPHONICS_POLL_STALE_MINUTES = env.int("SYMPHONICS_POLL_STALE_MINUTES", default=30)
SYMPHONICS_POLL_BATCH = env.int("SYMPHONICS_POLL_BATCH", default=50)

# --- Logging --------------------------------------------------------------
# One JSON object per line (or a readable line with LOG_FORMAT=text), with the
# time in UTC (ISO-8601 with its offset) and the request id, from the web,
# the Celery worker and beat (config/celery.py) and gunicorn (its
# --logger-class in the Procfiles): apps/core/logging.py. Secrets in messages
# and tracebacks are masked on every handler (apps/core/log_filters.py).
# https://docs.djangoproject.com/en/5.2/topics/logging/#configuring-logging
LOG_FORMAT = env.str("LOG_FORMAT", default="json")
if LOG_FORMAT not in ("json", "text"):
    raise ImproperlyConfigured("LOG_FORMAT must be json or text.")
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "apps.core.log_filters.RequestIdFilter"},
        "mask_secrets": {"()": "apps.core.log_filters.SecretMaskingFilter"},
    },
    "formatters": {
        "json": {"()": "apps.core.logging.JsonFormatter"},
        "text": {"()": "apps.core.logging.TextFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT,
                    "filters": ["request_id", "mask_secrets"]},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    # Django's own handlers (console when DEBUG, runserver's) would print
    # these a second time in another format: they go to the root only.
    "loggers": {
        "django": {"handlers": [], "level": LOG_LEVEL, "propagate": True},
        "django.server": {"handlers": [], "level": LOG_LEVEL, "propagate": True},
    },
}

# --- Metrics --------------------------------------------------------------
# /metrics (Prometheus text format) answers only a scraper that sends
# `Authorization: Bearer <METRICS_TOKEN>`; empty (the default), it is 404.
# https://prometheus.io/docs/prometheus/latest/configuration/configuration/#scrape_config
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")

# --- Attention digest ------------------------------------------------------
# Every morning, the attention items raised since the previous digest are
# mailed to the active members of the Manager group who have an address
# (apps/core/digest.py); nothing is sent when nothing is new. The time is
# read by `manage.py setup_schedules` (a manager may then change it in the
# admin's periodic tasks).
DIGEST_HOUR = env.int("DIGEST_HOUR", default=7)
DIGEST_MINUTE = env.int("DIGEST_MINUTE", default=30)
DIGEST_TIMEZONE = env.str("DIGEST_TIMEZONE", default="Europe/Brussels")
# At most this many items are listed per domain; the mail then says how many
# more there are and links to the attention queue.
DIGEST_MAX_ITEMS_PER_DOMAIN = env.int("DIGEST_MAX_ITEMS_PER_DOMAIN", default=50)
# E-mail: console output unless EMAIL_URL names a server, e.g.
# smtp+tls://user:password@smtp.example.com:587 (STARTTLS) or
# smtp+ssl://user:password@smtp.example.tn:465 (implicit TLS).
# https://django-environ.readthedocs.io/en/latest/types.html#environ-env-email-url
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="hub@localhost")
# Django waits forever for an SMTP server by default.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=20)
