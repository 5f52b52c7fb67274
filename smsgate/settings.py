"""Settings for smsgate, read from the environment (12-factor).

Every value has a safe development default: SQLite in var/, an embedded
(filesystem) Celery broker, a file cache and the console SMS backend.
Production sets DATABASE_URL, REDIS_URL / CELERY_BROKER_URL and real providers.
"""

from pathlib import Path

import dj_database_url

from smsgate.env import env_bool, env_int, env_list, env_rate, env_str
from smsgate.housekeeping_log import CELERY_LOGGERS as HOUSEKEEPING_LOGGERS

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("SMSGATE_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY", "dev-only-insecure-secret-key-change-me")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Public address of this gateway, used to build carrier callback URLs.
PUBLIC_BASE_URL = env_str("PUBLIC_BASE_URL").rstrip("/")
# When set, GET /metrics requires `Authorization: Bearer <METRICS_TOKEN>`.
METRICS_TOKEN = env_str("METRICS_TOKEN")
# Behind a proxy that sets X-Forwarded-For, log the client's address from it (and throttle failed logins by it):
# the address the outermost of TRUSTED_PROXY_COUNT proxies appended, so what a client writes there is ignored.
TRUST_X_FORWARDED_FOR = env_bool("TRUST_X_FORWARDED_FOR", False)
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 1)

INSTALLED_APPS = [
    "smsgate.admin_site.ConsoleAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "smsgate",
    "providers",
    "webhooks",
    "leads",
    "templates",
    "campaigns",
]

MIDDLEWARE = [
    "smsgate.middleware.BodySizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "smsgate.urls"
WSGI_APPLICATION = "smsgate.wsgi.application"

# HTML lives in html/, not in an app's templates/ folder: the app named
# `templates` holds message templates, and the two must not be confused.
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "html"],
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

DATABASES = {
    "default": dj_database_url.parse(
        # Postgres in development too: one code path (COPY, array parameters, percentiles, row locks).
        env_str("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/smsgate"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
# The web process's requests are greenlets (gunicorn.conf.py), and each would
# keep a connection of its own: there they share a pool of at most
# DATABASE_POOL_SIZE per process instead (Django's, on psycopg_pool), a request
# handing its connection back when it ends. gunicorn.conf.py sets it; 0 (workers,
# beat, manage.py) keeps one persistent connection per thread.
DATABASE_POOL_SIZE = env_int("DATABASE_POOL_SIZE", 0)
if DATABASE_POOL_SIZE:
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1, "max_size": DATABASE_POOL_SIZE, "timeout": 10,
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    # Shared by web, worker and beat on one machine without a Redis server.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# Uploaded files (MMS media, smsgate.media) are kept in the default storage: a folder here. With several web
# machines it must be shared (a network volume) or STORAGES["default"] another backend (e.g. django-storages' S3).
MEDIA_ROOT = env_str("MEDIA_ROOT", str(VAR_DIR / "media"))
MEDIA_URL = "media/"  # never served as is: media are served on signed URLs only (/m/<token>)

# Largest request body accepted; larger ones get 413.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 1024 * 1024)
# Largest recipients CSV uploaded with a campaign in the admin (its request may be that much larger).
CAMPAIGN_UPLOAD_MAX_BYTES = env_int("CAMPAIGN_UPLOAD_MAX_BYTES", 20 * 1024 * 1024)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # Webhook secrets may come in query strings (?token=, ?secret=): no log line shows them.
    "filters": {
        "redact_secrets": {"()": "smsgate.log_redaction.RedactSecrets"},
        "housekeeping_at_debug": {"()": "smsgate.housekeeping_log.HousekeepingAtDebug"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact_secrets"]}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        # The Twilio SDK logs every request and header at INFO.
        "twilio.http_client": {"level": "WARNING"},
        # runserver's request lines (full URLs): through the console handler and its filter only.
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        # Beat's housekeeping runs dozens of times a minute: Celery's lines about it at DEBUG.
        **{name: {"filters": ["housekeeping_at_debug"]} for name in HOUSEKEEPING_LOGGERS},
    },
}

# --- REST API -------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["smsgate.api.auth.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["smsgate.api.auth.HasTenant"],
    "DEFAULT_THROTTLE_CLASSES": ["smsgate.api.auth.ApiKeyRateThrottle"],
    # "N/period" (s, min, hour, day); token buckets in Redis (smsgate/api/throttling.py). Empty: no limit.
    "DEFAULT_THROTTLE_RATES": {
        "api_key": env_rate("API_RATE_LIMIT", "1200/min"),  # requests per API key
        "auth_failure": env_rate("API_AUTH_FAILURE_LIMIT", "30/min"),  # failed authentications per client IP
    },
    # JSON only (every input has nested fields a form cannot carry), refusing deep nesting, NUL and lone surrogates.
    "DEFAULT_PARSER_CLASSES": ["smsgate.api.parsers.JsonParser"],
    "DEFAULT_SCHEMA_CLASS": "smsgate.api.schema.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "smsgate API",
    "DESCRIPTION": "Send SMS through many carriers, track delivery, opt-outs and campaigns.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "smsgate.api.schema.document_error_responses",
    ],
    # Choice sets of different models share field names (`status`); name their enums apart.
    "ENUM_NAME_OVERRIDES": {
        "LeadStatusEnum": "leads.models.Lead.Status",
        "LeadChannelEnum": "leads.models.Lead.Channel",
        "MessageStatusEnum": "smsgate.statuses.Status",
    },
}

# --- Celery ---------------------------------------------------------------
# Without a broker URL Celery uses kombu's filesystem transport under var/,
# which needs no server and is shared by every process on this machine. Its URL
# names a host (ignored) so that kombu does not warn "No hostname was supplied".
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL or "filesystem://localhost/")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        # Broadcasts (celery inspect ping, used by `make run` to see the worker is up); default ./control.
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = env_int("CELERY_WORKER_PREFETCH_MULTIPLIER", 4)
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
# Without this Celery's Django fix-up closes the database connection around every task (a new
# Postgres backend per task); smsgate/celery.py applies CONN_MAX_AGE and health checks instead.
CELERY_DB_REUSE_MAX = env_int("CELERY_DB_REUSE_MAX", 1000)
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = TIME_ZONE

# --- SMS ------------------------------------------------------------------
SMS_PRIMARY_PROVIDER = env_str("SMS_PRIMARY_PROVIDER", "console")
SMS_FALLBACK_PROVIDERS = env_list("SMS_FALLBACK_PROVIDERS")
SMS_DEFAULT_REGION = env_str("SMS_DEFAULT_REGION", "US")
# With the safeguard on, only SAFE_PHONE_NUMBERS receive anything (staging).
SMS_SAFEGUARD = env_bool("SMS_SAFEGUARD", False)
SAFE_PHONE_NUMBERS = env_list("SAFE_PHONE_NUMBERS")
SMS_QUIET_HOURS = env_str("SMS_QUIET_HOURS")
SMS_RATE_LIMIT_PER_MINUTE = env_int("SMS_RATE_LIMIT_PER_MINUTE", 0)  # per tenant and provider; 0: no limit
SMS_BREAKER_FAILURES = env_int("SMS_BREAKER_FAILURES", 5)  # consecutive transient failures that open a breaker
SMS_BREAKER_COOLDOWN_SECONDS = env_int("SMS_BREAKER_COOLDOWN_SECONDS", 60)
SMS_MAX_BODY_CHARS = env_int("SMS_MAX_BODY_CHARS", 1600)
# How far ahead an API request may schedule a message (send_at).
SMS_MAX_SCHEDULE_DAYS = env_int("SMS_MAX_SCHEDULE_DAYS", 365)
# MMS (smsgate.media): Twilio's limits are 10 media and 5 MB per message.
MMS_MAX_MEDIA = env_int("MMS_MAX_MEDIA", 10)
MMS_MAX_FILE_BYTES = env_int("MMS_MAX_FILE_BYTES", 5 * 1024 * 1024)  # per uploaded file
MMS_MAX_MESSAGE_BYTES = env_int("MMS_MAX_MESSAGE_BYTES", 5 * 1024 * 1024)  # our uploaded files of one message
MMS_MEDIA_URL_DAYS = env_int("MMS_MEDIA_URL_DAYS", 7)  # how long a signed media URL works
# A signed URL must still work this long after its message is due (the carrier fetches it then, retries later).
MMS_MEDIA_URL_MARGIN_SECONDS = env_int("MMS_MEDIA_URL_MARGIN_SECONDS", 3600)
# Uploads older than this are deleted (file and row) unless a message still to be sent names them; 0 keeps them.
MMS_MEDIA_RETENTION_DAYS = env_int("MMS_MEDIA_RETENTION_DAYS", 30)
# What one tenant's kept uploads may add up to: an API key cannot fill the disk (0: no limit).
MMS_MAX_TENANT_BYTES = env_int("MMS_MAX_TENANT_BYTES", 1024 * 1024 * 1024)
SMS_MAX_ATTEMPTS = env_int("SMS_MAX_ATTEMPTS", 6)
SMS_RETRY_BASE_SECONDS = env_int("SMS_RETRY_BASE_SECONDS", 30)
SMS_RETRY_MAX_SECONDS = env_int("SMS_RETRY_MAX_SECONDS", 3600)
# A message claimed longer ago than this without an outcome is claimed again.
SMS_CLAIM_STALE_SECONDS = env_int("SMS_CLAIM_STALE_SECONDS", 120)
SMS_SWEEP_BATCH = env_int("SMS_SWEEP_BATCH", 2000)
# Claimed-but-unfinished messages allowed at once; the sweeper claims no more beyond it.
# Keep it to what workers send within SMS_CLAIM_STALE_SECONDS, or queued claims go stale and are re-queued.
SMS_MAX_IN_FLIGHT = env_int("SMS_MAX_IN_FLIGHT", 2000)
SMS_DISPATCH_CHUNK = env_int("SMS_DISPATCH_CHUNK", 50)
# Outcomes written per transaction while dispatching a chunk (also the most sends a killed worker can repeat).
SMS_DISPATCH_COMMIT_EVERY = env_int("SMS_DISPATCH_COMMIT_EVERY", 10)
PROVIDER_HTTP_TIMEOUT = env_int("PROVIDER_HTTP_TIMEOUT", 15)
# Carriers that push no delivery receipts; their recent `sent` messages are polled every minute.
SMS_STATUS_POLL_PROVIDERS = env_list("SMS_STATUS_POLL_PROVIDERS", "chunghwa")
SMS_STATUS_POLL_MAX_AGE_SECONDS = env_int("SMS_STATUS_POLL_MAX_AGE_SECONDS", 2 * 24 * 3600)
SMS_STATUS_POLL_BATCH = env_int("SMS_STATUS_POLL_BATCH", 200)

RECOVERY_DELAY_SECONDS = env_int("RECOVERY_DELAY_SECONDS", 600)
TRIBOPAY_WEBHOOK_SECRET = env_str("TRIBOPAY_WEBHOOK_SECRET")
FIELD_ENCRYPTION_KEY = env_str("FIELD_ENCRYPTION_KEY")

# Carriers' credentials and endpoints. A backend declares its keys once (providers/base.py) and reads
# the setting <its prefix><KEY> by convention (SmscProvider's `login` -> SMSC_LOGIN; Twilio's base_url is
# TWILIO_API_BASE_URL), or the environment variable of that name when no setting is defined here. These
# carriers' are written out, not generated in a loop, so that their names (the deployment contract) are
# found by searching this file; a new carrier needs no lines here (docs/PROVIDERS.md, "Adding a carrier").
TWILIO_ACCOUNT_SID = env_str("TWILIO_ACCOUNT_SID")
TWILIO_AUTH_TOKEN = env_str("TWILIO_AUTH_TOKEN")
TWILIO_FROM_NUMBER = env_str("TWILIO_FROM_NUMBER")
TWILIO_API_BASE_URL = env_str("TWILIO_API_BASE_URL", "https://api.twilio.com")

SMSC_LOGIN = env_str("SMSC_LOGIN")
SMSC_PASSWORD = env_str("SMSC_PASSWORD")
SMSC_SENDER = env_str("SMSC_SENDER")
SMSC_BASE_URL = env_str("SMSC_BASE_URL", "https://smsc.ru")
# Delivery callbacks must carry ?secret=<this>; without it SMSC callbacks are refused.
SMSC_WEBHOOK_SECRET = env_str("SMSC_WEBHOOK_SECRET")

WEBSMS_USER = env_str("WEBSMS_USER")
WEBSMS_APIKEY = env_str("WEBSMS_APIKEY")
WEBSMS_BASE_URL = env_str("WEBSMS_BASE_URL", "https://cabinet.websms.by")
WEBSMS_SENDER = env_str("WEBSMS_SENDER")

SPOTHIT_API_KEY = env_str("SPOTHIT_API_KEY")
SPOTHIT_BASE_URL = env_str("SPOTHIT_BASE_URL", "https://www.spot-hit.fr")
SPOTHIT_SENDER = env_str("SPOTHIT_SENDER")
# SpotHit signs nothing: its receipt URL carries this secret; unset means receipts are refused.
SPOTHIT_WEBHOOK_SECRET = env_str("SPOTHIT_WEBHOOK_SECRET")

AIRCALL_API_ID = env_str("AIRCALL_API_ID")
AIRCALL_API_TOKEN = env_str("AIRCALL_API_TOKEN")
AIRCALL_NUMBER_ID = env_str("AIRCALL_NUMBER_ID")
AIRCALL_WEBHOOK_TOKEN = env_str("AIRCALL_WEBHOOK_TOKEN")
AIRCALL_BASE_URL = env_str("AIRCALL_BASE_URL", "https://api.aircall.io")

CHT_SMS_ACCOUNT_ID = env_str("CHT_SMS_ACCOUNT_ID")
CHT_SMS_PASSWORD = env_str("CHT_SMS_PASSWORD")
CHT_SMS_BASE_URL = env_str("CHT_SMS_BASE_URL", "https://imsp.emome.net:4443")
CHT_SMS_FROM_ADDR = env_str("CHT_SMS_FROM_ADDR")
