"""CareFlow settings: one module, driven by the environment.

Safe laptop defaults: no DATABASE_URL means a SQLite file, no CELERY_BROKER_URL
means Celery tasks run eagerly. With DEBUG off, missing secrets are an error.
CAREFLOW_ENV=production turns DEBUG off and requires SECRET_KEY, ALLOWED_HOSTS and
CAREFLOW_FIELD_KEYS; it also turns on HTTPS-only cookies, HSTS and the other headers
that `manage.py check --deploy` asks for (docs/security.md).
"""

import json
import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


CAREFLOW_ENV = os.environ.get("CAREFLOW_ENV", "development").strip().lower()
if CAREFLOW_ENV not in {"development", "production"}:
    raise ImproperlyConfigured("CAREFLOW_ENV must be 'development' or 'production'")
IS_PRODUCTION = CAREFLOW_ENV == "production"

DEBUG = False if IS_PRODUCTION else env_bool("DEBUG", True)


def required_in_production(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if IS_PRODUCTION and not value:
        raise ImproperlyConfigured(f"{name} must be set when CAREFLOW_ENV=production")
    return value


SECRET_KEY = required_in_production("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "careflow-insecure-dev-key-do-not-use-in-production"  # noqa: S105

ALLOWED_HOSTS = [
    h.strip()
    for h in (required_in_production("ALLOWED_HOSTS") or "localhost,127.0.0.1").split(",")
    if h.strip()
]

# Keys of the encrypted personal data (hr/fields.py, hr/crypto.py): "k2:<base64 of 32
# bytes>,k1:<...>", the first encrypts, all decrypt; `manage.py rotate_field_keys`
# re-encrypts every value under the first. Outside production a fixed, public development
# key stands in (a system check warns when DEBUG is off and it encrypts). Production refuses
# it as the first (encrypting) key, under any id, but accepts it after a new key, decrypting
# only: "new:<...>,dev:<development key>", then rotate_field_keys, then drop it.
DEV_FIELD_KEYS = "dev:Y2FyZWZsb3ctZGV2LWtleS1ub3QtZm9yLXByb2R1Y3Q="
CAREFLOW_FIELD_KEYS = required_in_production("CAREFLOW_FIELD_KEYS") or DEV_FIELD_KEYS
if IS_PRODUCTION:
    from hr.crypto import encrypts_with

    if encrypts_with(CAREFLOW_FIELD_KEYS, DEV_FIELD_KEYS):
        raise ImproperlyConfigured(
            "the development field key may not be used in production to encrypt: put a new "
            "key first in CAREFLOW_FIELD_KEYS (the development key may follow it, decrypting "
            "only), run `manage.py rotate_field_keys`, then remove the development key"
        )

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    # API tokens: only a hash is stored, each has an expiry, sign-out revokes (REST_KNOX).
    "knox",
    # The one sign-in guard for every entry point (AXES_* below).
    "axes",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "hr",
    "workflows",
    "web",
]

MIDDLEWARE = [
    # Reliability: body cap, text rules on path and query, 503 while the database is away.
    "api.middleware.RequestGuardMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files under gunicorn (DEBUG off): served from STATIC_ROOT, compressed, cached.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "api.middleware.ContentSecurityPolicyMiddleware",
    # Last, as django-axes asks: turns a locked-out session sign-in into its answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"

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
                "web.context.navigation",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'careflow.sqlite3'}"),
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "0")),
        # A persistent connection broken by a database restart is noticed and replaced at
        # the start of the next request instead of failing it.
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Transactions take the write lock when they begin, so concurrent writers queue
    # (the SQLite stand-in for select_for_update) instead of failing mid-transaction.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = os.environ.get("LANGUAGE_CODE", "zh-hans")
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
TIME_ZONE = os.environ.get("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

# django-axes checks every sign-in (the pages' /login/, /admin/login/, POST auth/token)
# before the password is: it must come first.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# The pages (web/): sign-in at /login/, then back where the person was going.
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "web:login"

STATIC_URL = "static/"
# `manage.py collectstatic` copies the static files here (the Dockerfile does it at build);
# WhiteNoise serves them. With DEBUG off the names carry a content hash (cached for a year)
# and gzip copies are made: collectstatic must have run before the server starts. With DEBUG
# on (`make run`), files are served straight from the apps' static folders.
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT") or BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: an anonymous caller gets 401 with a WWW-Authenticate header.
        "api.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["api.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.Pagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # How many proxies in front of the server append to X-Forwarded-For: 0 means the client
    # address is REMOTE_ADDR, so a forged header cannot dodge a per-address throttle.
    "NUM_PROXIES": int(os.environ.get("CAREFLOW_NUM_PROXIES", "0")),
    "DEFAULT_THROTTLE_RATES": {
        # Feedback receipt lookups (POST /api/v1/feedback/receipt, no sign-in) per address.
        "feedback_receipt": os.environ.get("CAREFLOW_FEEDBACK_RECEIPT_RATE", "20/min"),
    },
}

# API tokens (django-rest-knox): the database keeps only a SHA-512 digest of each token, the
# token itself is shown once, when issued; it expires after TOKEN_TTL (people: one shift;
# `manage.py issue_token <user> --days N` for integration accounts) and auth/logout,
# auth/logout-all revoke. Clients keep sending "Authorization: Token <token>".
REST_KNOX = {
    "AUTH_HEADER_PREFIX": "Token",
    "TOKEN_TTL": timedelta(hours=float(os.environ.get("CAREFLOW_TOKEN_TTL_HOURS", "10"))),
    "AUTO_REFRESH": False,
}

# The sign-in guard (django-axes), one for every entry point: after AXES_FAILURE_LIMIT
# failed sign-ins for one username (from any address) that username is refused for
# AXES_COOLOFF_TIME, even with the right password: 429 + Retry-After (api/signin.py). Per
# username, not per address: a clinic's staff share one address behind NAT, and one
# colleague's typos must not lock the others out. Failures during the lock do not extend it;
# a successful sign-in clears the username's failures. Attempts are rows in the database
# (shared by every process; the Django admin lists them under "Axes").
AXES_FAILURE_LIMIT = int(os.environ.get("CAREFLOW_SIGNIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(
    minutes=float(os.environ.get("CAREFLOW_SIGNIN_COOLOFF_MINUTES", "15"))
)
AXES_LOCKOUT_PARAMETERS = ["username"]
# axes warns (W006) when the address is not a lockout parameter, since rotating user agents
# or cookies must not dodge the lock: here the lock is the username's alone, which rotating
# nothing else changes. Counting per address as well would lock a whole clinic behind its NAT
# address, and with AXES_RESET_ON_SUCCESS one success from an address would clear every
# username's failures from it (a way around the per-username limit).
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "api.signin.lockout_response"
# Successful sign-ins are not logged by axes (Django keeps last_login): its access log would
# create a session for every API token sign-in.
AXES_DISABLE_ACCESS_LOG = True

# Reliability: request size caps (api/middleware.py answers 413 above them). JSON bodies and
# form fields are small; multipart deploy bundles may be larger (see BUNDLE_MAX_FILE_BYTES).
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("CAREFLOW_JSON_MAX_BYTES", str(1024 * 1024)))
DATA_UPLOAD_MAX_NUMBER_FIELDS = 1000

SPECTACULAR_SETTINGS = {
    "TITLE": "CareFlow API",
    "DESCRIPTION": "HR processes of a healthcare group as BPMN: deploy, work tasks, audit.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "InstanceStatusEnum": "workflows.models.ProcessInstance.Status",
        "TaskStatusEnum": "workflows.models.HumanTask.Status",
        "IncidentStatusEnum": "workflows.models.Incident.Status",
        "FeedbackStatusEnum": "hr.models.FeedbackTicket.Status",
        "CredentialKindEnum": "hr.models.Credential.Kind",
        "CredentialStatusEnum": "hr.models.Credential.Status",
        "SignalKindEnum": "hr.models.ComplianceSignal.Kind",
        "SignalSeverityEnum": "hr.models.ComplianceSignal.Severity",
    },
}

# Celery: no broker means tasks run in-process, eagerly, and the development server sweeps
# timers itself (laptop mode, workflows/embedded.py). JSON only; tasks take ids.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
# Tasks are safe to run twice: acknowledge after running, so a killed worker's task is
# delivered again; take one message at a time so a long task does not hold others back.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 3}
# With the broker down, give up publishing quickly: the row stays pending and the sweep
# sends it later, so a user's request is not held up.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}

# Email (notifications): the console on a laptop, SMTP settings from the environment.
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "CareFlow <careflow@localhost>")

# The workflow engine.
CAREFLOW = {
    # Where `manage.py deploy_processes` finds the shipped models and forms.
    "BPMN_DIR": BASE_DIR / "bpmn",
    "FORMS_DIR": BASE_DIR / "forms",
    # Sandbox bounds for scripts and expressions in diagrams.
    "SCRIPT_MAX_SECONDS": float(os.environ.get("CAREFLOW_SCRIPT_MAX_SECONDS", "2.0")),
    "SCRIPT_MAX_LINES": int(os.environ.get("CAREFLOW_SCRIPT_MAX_LINES", "200000")),
    # Reliability (api/parsers.py, api/middleware.py): the largest multipart request, the
    # deepest JSON, the longest string and combining-mark stack accepted anywhere, and the
    # Retry-After of a 503 while the database is away.
    "REQUEST_MAX_BYTES": int(os.environ.get("CAREFLOW_REQUEST_MAX_BYTES", str(20 * 1024 * 1024))),
    "JSON_MAX_DEPTH": 32,
    "TEXT_MAX_CHARS": 10_000,
    "TEXT_MAX_COMBINING_MARKS": 4,
    "RETRY_AFTER_SECONDS": 5,
    # Largest bundle file accepted by a deploy.
    "BUNDLE_MAX_FILE_BYTES": int(
        os.environ.get("CAREFLOW_BUNDLE_MAX_FILE_BYTES", str(2 * 1024 * 1024))
    ),
    # Largest string, bytes or container a script may build in one operation (items or
    # characters), and the largest integer (in bits) it may compute.
    "SCRIPT_MAX_SIZE": int(os.environ.get("CAREFLOW_SCRIPT_MAX_SIZE", "1000000")),
    "SCRIPT_MAX_INT_BITS": int(os.environ.get("CAREFLOW_SCRIPT_MAX_INT_BITS", "4096")),
    # Growth of the process's peak memory a script may cause (checked every 16 lines).
    "SCRIPT_MAX_MEMORY_MB": int(os.environ.get("CAREFLOW_SCRIPT_MAX_MEMORY_MB", "256")),
    # Timers: the sweep period (Celery beat, or the dev server in laptop mode), how long a
    # sweeper holds claimed rows, batch size, and backoff / attempts when firing fails.
    "TIMER_SWEEP_SECONDS": float(os.environ.get("CAREFLOW_TIMER_SWEEP_SECONDS", "5")),
    "TIMER_LEASE_SECONDS": int(os.environ.get("CAREFLOW_TIMER_LEASE_SECONDS", "120")),
    "TIMER_BATCH_SIZE": int(os.environ.get("CAREFLOW_TIMER_BATCH_SIZE", "100")),
    "TIMER_SWEEP_MAX_BATCHES": int(os.environ.get("CAREFLOW_TIMER_SWEEP_MAX_BATCHES", "20")),
    "TIMER_RETRY_BASE_SECONDS": int(os.environ.get("CAREFLOW_TIMER_RETRY_BASE_SECONDS", "10")),
    "TIMER_MAX_ATTEMPTS": int(os.environ.get("CAREFLOW_TIMER_MAX_ATTEMPTS", "5")),
    # A timer due within this many seconds is also queued with an ETA, to fire before the
    # next sweep.
    "TIMER_ETA_HORIZON_SECONDS": int(os.environ.get("CAREFLOW_TIMER_ETA_HORIZON_SECONDS", "60")),
    # First delay before retrying a service task that has spiffworkflow:retry without a
    # backoff_base; the delay doubles with each retry, up to RETRY_MAX_BACKOFF_SECONDS.
    "SERVICE_RETRY_BACKOFF_SECONDS": int(
        os.environ.get("CAREFLOW_SERVICE_RETRY_BACKOFF_SECONDS", "30")
    ),
    "RETRY_MAX_BACKOFF_SECONDS": int(os.environ.get("CAREFLOW_RETRY_MAX_BACKOFF_SECONDS", "3600")),
    # Without a broker, `runserver` sweeps in a background thread (workflows/embedded.py).
    "EMBEDDED_SWEEP": env_bool("CAREFLOW_EMBEDDED_SWEEP", True),
    # Notifications: copies by email (to users with an address) and to group-chat robots,
    # e.g. CAREFLOW_NOTIFY_WEBHOOKS='{"hr_chat": {"url": "https://...", "kinds": ["message"]}}'
    "NOTIFY_EMAIL": env_bool("CAREFLOW_NOTIFY_EMAIL", True),
    "NOTIFY_WEBHOOKS": json.loads(os.environ.get("CAREFLOW_NOTIFY_WEBHOOKS") or "{}"),
    "DELIVERY_MAX_ATTEMPTS": int(os.environ.get("CAREFLOW_DELIVERY_MAX_ATTEMPTS", "6")),
    "DELIVERY_RETRY_BASE_SECONDS": int(
        os.environ.get("CAREFLOW_DELIVERY_RETRY_BASE_SECONDS", "30")
    ),
    "DELIVERY_LEASE_SECONDS": int(os.environ.get("CAREFLOW_DELIVERY_LEASE_SECONDS", "60")),
    # The sweep re-sends a pending delivery this long after it was due (its own queued task
    # normally gets there first).
    "DELIVERY_REDISPATCH_AFTER_SECONDS": int(
        os.environ.get("CAREFLOW_DELIVERY_REDISPATCH_AFTER_SECONDS", "30")
    ),
    # The monthly top-10 % bonus (hr.services.performance.appraisal_month_close; see
    # docs/processes.md): the pool ranked, "group" (everyone appraised in the group) or
    # "clinic" (each clinic apart; staff outside any clinic are one more pool), and the people
    # tied at the line, "include" (all of them get it, so the top may exceed 10 %) or
    # "exclude" (none of them, so it never exceeds 10 %). Rounding is always up.
    "TOP_SHARE_POOL": os.environ.get("CAREFLOW_TOP_SHARE_POOL", "group"),
    "TOP_SHARE_TIES": os.environ.get("CAREFLOW_TOP_SHARE_TIES", "include"),
    # Uploaded documents: the types accepted at all (a form field narrows them with its
    # `x-upload`) and the largest file.
    "DOCUMENT_CONTENT_TYPES": ("application/pdf", "image/png", "image/jpeg"),
    "DOCUMENT_MAX_BYTES": int(os.environ.get("CAREFLOW_DOCUMENT_MAX_BYTES", str(5 * 1024 * 1024))),
    # The hour (UTC, Celery's clock) of the daily licence scan: 22:00 UTC is 06:00 in China.
    "LICENCE_SCAN_HOUR": int(os.environ.get("CAREFLOW_LICENCE_SCAN_HOUR", "22")),
    # How committed side effects reach the task queue (workflows/outbox.py).
    "DISPATCHER": "workers.dispatch.celery_dispatcher",
}

if CAREFLOW["TOP_SHARE_POOL"] not in ("group", "clinic"):
    raise ImproperlyConfigured("CAREFLOW_TOP_SHARE_POOL must be 'group' or 'clinic'")
if CAREFLOW["TOP_SHARE_TIES"] not in ("include", "exclude"):
    raise ImproperlyConfigured("CAREFLOW_TOP_SHARE_TIES must be 'include' or 'exclude'")

# --- budget of one change of an instance (workflows/budget.py; docs/budget.md) -------------
# A diagram is stopped, the change rolled back and an incident opened when one change of an
# instance goes over any of these. The largest shipped case, a training campaign for 1,000
# people (bench/instance_size.py), starts 1,000 parallel tasks in under a second with a
# ~450 KB state. Constants over a limit are refused at deploy.
CAREFLOW_BUDGET_ENGINE_STEPS = int(os.environ.get("CAREFLOW_BUDGET_ENGINE_STEPS", "10000"))
# Checked before every engine step: below gunicorn's worker timeout (config/gunicorn.conf.py)
# and the Celery time limits below, so the row lock is released by the budget first.
CAREFLOW_BUDGET_WALL_SECONDS = float(os.environ.get("CAREFLOW_BUDGET_WALL_SECONDS", "10"))
CAREFLOW_BUDGET_STATE_BYTES = int(
    os.environ.get("CAREFLOW_BUDGET_STATE_BYTES", str(5 * 1024 * 1024))
)
CAREFLOW_BUDGET_MI_CARDINALITY = int(os.environ.get("CAREFLOW_BUDGET_MI_CARDINALITY", "2000"))
CAREFLOW_BUDGET_CALL_DEPTH = int(os.environ.get("CAREFLOW_BUDGET_CALL_DEPTH", "10"))
# SpiffWorkflow looks no deeper than 1,000 tasks into the task tree: a loop that goes deeper
# would stop silently. Each iteration of a loop adds its tasks to the depth.
CAREFLOW_BUDGET_TASK_DEPTH = int(os.environ.get("CAREFLOW_BUDGET_TASK_DEPTH", "900"))
CAREFLOW_BUDGET_TIMER_CYCLE_MIN_SECONDS = int(
    os.environ.get("CAREFLOW_BUDGET_TIMER_CYCLE_MIN_SECONDS", "900")
)
# Bounded cycles (R5/P1D) may repeat at most this often; unbounded ones (R/P1D) fire at most
# this many times, then the instance gets an incident.
CAREFLOW_BUDGET_TIMER_CYCLE_MAX_REPETITIONS = int(
    os.environ.get("CAREFLOW_BUDGET_TIMER_CYCLE_MAX_REPETITIONS", "1000")
)
# A timer sweep stops claiming new work after this long (the rest waits for the next sweep);
# Celery's soft and hard limits stop a sweep or a timer task that still overruns.
CAREFLOW_BUDGET_SWEEP_SECONDS = float(os.environ.get("CAREFLOW_BUDGET_SWEEP_SECONDS", "60"))
CELERY_TASK_ANNOTATIONS = {
    "workers.fire_due_timers": {
        "soft_time_limit": CAREFLOW_BUDGET_SWEEP_SECONDS + 3 * CAREFLOW_BUDGET_WALL_SECONDS,
        "time_limit": CAREFLOW_BUDGET_SWEEP_SECONDS + 6 * CAREFLOW_BUDGET_WALL_SECONDS,
    },
    "workers.fire_timer": {
        "soft_time_limit": 3 * CAREFLOW_BUDGET_WALL_SECONDS,
        "time_limit": 6 * CAREFLOW_BUDGET_WALL_SECONDS,
    },
}

# Throttle counters (the feedback receipt lookup) live in the cache: give every process the
# same one (Redis) in production.
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
        if (CACHE_URL := os.environ.get("CACHE_URL", ""))
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# --- HTTP security ---------------------------------------------------------------------------
# Always: no MIME sniffing, no framing, no referrer to other sites, HttpOnly session cookie.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = int(os.environ.get("SESSION_COOKIE_AGE", str(8 * 3600)))  # one shift
# The pages load scripts and styles from this site only (inline styles: Swagger UI, admin).
CONTENT_SECURITY_POLICY = os.environ.get(
    "CONTENT_SECURITY_POLICY",
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
)
# Development reports violations in the browser console; production enforces the policy.
CONTENT_SECURITY_POLICY_REPORT_ONLY = not IS_PRODUCTION
if IS_PRODUCTION:
    # Behind a TLS-terminating proxy that sets X-Forwarded-Proto (CAREFLOW_BEHIND_PROXY=1).
    if env_bool("CAREFLOW_BEHIND_PROXY", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    CSRF_TRUSTED_ORIGINS = [
        o.strip() for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
    ]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "spiff": {"level": "WARNING"},
        "spiff.metrics": {"level": "WARNING"},
        # The sign-in guard: failures and lockouts are warnings; its INFO is per-request noise.
        "axes": {"level": "WARNING"},
    },
}

CELERY_BEAT_SCHEDULE = {
    # Once a day: start a renewal for every credential 3 months from expiry (idempotent).
    "scan-licence-renewals": {
        "task": "workers.scan_licence_renewals",
        "schedule": crontab(hour=CAREFLOW["LICENCE_SCAN_HOUR"], minute=0),
    },
    "fire-due-timers": {
        "task": "workers.fire_due_timers",
        "schedule": CAREFLOW["TIMER_SWEEP_SECONDS"],
    },
    "redispatch-deliveries": {
        "task": "workers.redispatch_deliveries",
        "schedule": CAREFLOW["TIMER_SWEEP_SECONDS"],
    },
}

# --- family care and story wall (家庭关怀, 员工故事墙) ---
# Uploaded files (story photos, documents that forms refer to); served only through the API
# to the people allowed to see them.
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", str(BASE_DIR / "media")))
# A birthday reminder goes to the manager this many days before a consenting employee's
# child's birthday (the daily scan catches up on the days in between if it missed a run).
CAREFLOW_FAMILY_BIRTHDAY_LEAD_DAYS = int(os.environ.get("CAREFLOW_FAMILY_BIRTHDAY_LEAD_DAYS", "3"))
CAREFLOW_STORY_PHOTO_MAX_BYTES = int(
    os.environ.get("CAREFLOW_STORY_PHOTO_MAX_BYTES", str(5 * 1024 * 1024))
)
CAREFLOW_STORY_PHOTOS_MAX = int(os.environ.get("CAREFLOW_STORY_PHOTOS_MAX", "6"))
CELERY_BEAT_SCHEDULE["family-birthday-reminders"] = {
    "task": "workers.family_birthday_reminders",
    # Celery's clock is UTC: 23:00 UTC is 07:00 in Asia/Shanghai.
    "schedule": crontab(hour=23, minute=0),
}
CELERY_BEAT_SCHEDULE["story-monthly-award"] = {
    "task": "workers.story_monthly_award",
    # 00:00 UTC on the 1st is 08:00 in Asia/Shanghai: the month just ended is scored.
    "schedule": crontab(day_of_month="1", hour=0, minute=0),
}
