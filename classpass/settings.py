"""One environment-driven configuration.

DJANGO_ENV=production turns on the safe production defaults (no DEBUG, a required SECRET_KEY,
HTTPS-only cookies, HSTS); anything else is development, with SQLite, console e-mail and eager
Celery tasks. Every value below can be overridden by an environment variable of the same name.
"""

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

PRODUCTION = env("DJANGO_ENV", default="development") == "production"
DEBUG = env.bool("DEBUG", default=not PRODUCTION)
if PRODUCTION:
    SECRET_KEY = env("SECRET_KEY")
else:
    SECRET_KEY = env("SECRET_KEY", default="django-insecure-development-only-never-in-production")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[] if PRODUCTION else ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    # Before staticfiles: its runserver (which also runs the periodic tasks in development)
    # is the one manage.py finds.
    "classpass",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "axes",
    "rest_framework",
    "knox",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "studios",
    "members",
    "bookings",
    "premium",
    "marketing",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks
]

if PRODUCTION:  # the application server serves the collected, hashed static files itself
    MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")

ROOT_URLCONF = env("ROOT_URLCONF", default="classpass.urls")  # benchmarks add a baseline view
WSGI_APPLICATION = "classpass.wsgi.application"

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
                "django.template.context_processors.csp",
                "members.context_processors.nav_roles",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
if "ENGINE" not in DATABASES["default"]:  # an empty or scheme-less value parses to nothing
    raise ImproperlyConfigured(
        "DATABASE_URL is not a database URL: give one like postgres://user@host:5432/name or "
        "sqlite:////path/to/db.sqlite3, or unset it for the development SQLite file."
    )
DATABASES["default"]["ATOMIC_REQUESTS"] = False  # services own their transactions
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=0))
# Server-side parameters and prepared statements on PostgreSQL: each statement of the booking
# path is planned once per connection instead of on every request (planning cost more than
# running them; docs/performance.md). Behind a transaction-mode pooler that cannot keep prepared
# statements, set DATABASE_PREPARED_STATEMENTS=0.
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env.bool(
    "DATABASE_PREPARED_STATEMENTS", default=True
):
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        server_side_binding=True, prepare_threshold=2
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let the dev server and an eager task share the file.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "classpass.cache.RedisCache",
            "LOCATION": REDIS_URL,
            # A Redis that does not answer fails a call within a second instead of hanging a
            # request: the rate limits then let it through (classpass/ratelimit.py).
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses locked-out logins
    "members.auth.EmailBackend",
]
# Login throttling (django-axes): 5 failures for an account from one address lock it for an hour.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = 1  # hour
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_CALLABLE = "members.auth.lockout_username"  # one count per address, any case
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_LOCKOUT_TEMPLATE = "members/locked_out.html"
LOGIN_URL = "members:login"
LOGIN_REDIRECT_URL = "members:account"
LOGOUT_REDIRECT_URL = "home"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# E-mail (Django 6.1 MAILERS): SMTP in production, the console in development.
MAILERS = {
    "default": {
        "BACKEND": env(
            "EMAIL_BACKEND",
            default="django.core.mail.backends.smtp.EmailBackend"
            if PRODUCTION
            else "django.core.mail.backends.console.EmailBackend",
        ),
        "OPTIONS": {
            "host": env("EMAIL_HOST", default="localhost"),
            "port": env.int("EMAIL_PORT", default=25),
            "username": env("EMAIL_HOST_USER", default=""),
            "password": env("EMAIL_HOST_PASSWORD", default=""),
            "use_tls": env.bool("EMAIL_USE_TLS", default=False),
        }
        if PRODUCTION
        else {},
    }
}
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="classpass <no-reply@classpass.local>")
# Where members write to when something is wrong with their account (named in e-mails).
SUPPORT_EMAIL = env("SUPPORT_EMAIL", default="support@classpass.local")
# How long the link that confirms a member's new e-mail address works (seconds; 3 days).
EMAIL_CHANGE_TIMEOUT = 3 * 24 * 3600

# HTTPS and cookies: on in production, overridable one by one.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=PRODUCTION)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=PRODUCTION)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=PRODUCTION)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=PRODUCTION)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=PRODUCTION)
SECURE_CONTENT_TYPE_NOSNIFF = True
# Content Security Policy (Django's own): no inline code; scripts need this response's nonce.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Celery: Redis broker; tasks run eagerly in development unless told otherwise.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL or "redis://127.0.0.1:6379/0")
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not PRODUCTION)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = {
    "generate-sessions": {
        "task": "studios.tasks.generate_sessions",
        "schedule": crontab(minute=15, hour=1),
    },
    "relay-outbox": {
        "task": "studios.tasks.relay_outbox",
        "schedule": timedelta(seconds=10),
    },
    "settle-pending-payments": {
        "task": "members.tasks.settle_pending_payments",
        "schedule": timedelta(minutes=5),
    },
    "settle-late-payments": {
        "task": "bookings.tasks.settle_late_payments",
        "schedule": timedelta(minutes=5),
    },
    "expire-holds": {
        "task": "bookings.tasks.expire_holds",
        "schedule": timedelta(minutes=1),
    },
    "class-reminders": {
        "task": "bookings.tasks.send_class_reminders",
        "schedule": timedelta(minutes=10),
    },
    "default-attendance": {
        "task": "bookings.tasks.mark_unmarked_attended",
        "schedule": timedelta(minutes=30),
    },
    "smartspot-scan": {
        "task": "premium.tasks.start_smartspot_scan",
        "schedule": crontab(minute=0, hour=3),
    },
    "opportunities-scan": {
        "task": "premium.tasks.start_opportunities_scan",
        "schedule": crontab(minute=30, hour=3),
    },
    "resume-scans": {
        "task": "premium.tasks.resume_scans",
        "schedule": timedelta(minutes=10),
    },
    "smartspot-outcomes": {
        "task": "premium.tasks.record_smartspot_outcomes",
        "schedule": crontab(minute=20),
    },
    "spotlight-counters": {
        "task": "marketing.tasks.flush_spotlight_counters",
        "schedule": timedelta(minutes=1),
    },
    "spotlight-billing": {
        "task": "marketing.tasks.bill_spotlight",
        "schedule": timedelta(hours=1),
    },
    "renew-cycles": {
        "task": "members.tasks.renew_due_cycles",
        "schedule": timedelta(minutes=15),
    },
    "prune-outbox": {
        "task": "studios.tasks.prune_outbox",
        "schedule": crontab(minute=10, hour=4),
    },
    "prune-login-records": {
        "task": "members.tasks.prune_login_records",
        "schedule": crontab(minute=20, hour=4),
    },
}


def _period(schedule) -> float:
    """Seconds between two runs of a beat entry: its interval, an hour or a day."""
    if isinstance(schedule, timedelta):
        return schedule.total_seconds()
    return 3600.0 if len(schedule.hour) == 24 else 86400.0


# A run that no worker took before the next one falls due (a deploy, a worker down for an hour)
# expires: a returning worker runs the next one, not a backlog of the same sweep. Every entry is
# idempotent, and a nightly scan queued while workers were down still runs within its day.
for _entry in CELERY_BEAT_SCHEDULE.values():
    _entry.setdefault("options", {})["expires"] = _period(_entry["schedule"])

# The domain's own knobs.
SESSION_GENERATION_WEEKS = env.int("SESSION_GENERATION_WEEKS", default=4)
# How long delivered outbox messages (what was sent) and login logs are kept before pruning.
OUTBOX_KEEP_DAYS = env.int("OUTBOX_KEEP_DAYS", default=30)
LOGIN_RECORDS_KEEP_DAYS = env.int("LOGIN_RECORDS_KEEP_DAYS", default=90)
PAYMENT_PROVIDER = env("PAYMENT_PROVIDER", default="members.payments.LocalPaymentProvider")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "celery.app.trace": {"level": "WARNING"},
    },
}

# Demo data: each app seeds its own part, lowest app first (python manage.py seed_demo).
DEMO_SEED_STEPS = [
    "studios.demo.seed",
    "members.demo.seed",
    "bookings.demo.seed",
    "premium.demo.seed",
    "marketing.demo.seed",
    # Last: dates the history the steps above wrote in bulk when it happened (the credit and
    # payment ledgers, past reservations, sign-ups), replaying each member's ledger.
    "bookings.demo.retime",
]
DEMO_PASSWORD = "classpass-demo"
DEMO_LOGINS = [
    ("admin (/admin/)", "admin@classpass.local"),
    ("member (New York)", "member@classpass.local"),
    ("studio owner (2 studios)", "owner@classpass.local"),
    ("studio manager", "manager@classpass.local"),
    ("studio front desk", "frontdesk@classpass.local"),
]

# The booking engine asks these for what a member may book (see bookings/offers.py).
BOOKING_OFFER_PROVIDERS = [
    "bookings.offers.StandardOfferProvider",
    "premium.offers.PremiumOfferProvider",
]
BOOKING_HOLD = timedelta(minutes=10)  # a spot held while its payment completes
WAITLIST_PROMOTION_CUTOFF = timedelta(hours=env.int("WAITLIST_PROMOTION_CUTOFF_HOURS", default=2))
ATTENDANCE_DEFAULT_AFTER = timedelta(hours=48)
# A booked member is e-mailed this long before class (bookings made later get no reminder).
CLASS_REMINDER_AHEAD = timedelta(hours=env.int("CLASS_REMINDER_HOURS", default=3))
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000")
# Annotations (name: expression) on the class sessions of the member pages and the API, from
# apps that bookings does not import: Premium's spots per class and its price, for the rows.
SESSION_ANNOTATIONS = ["premium.selectors.premium_annotations"]
# Called with a class session, under its row lock, after staff change its inventory.
SESSION_INVENTORY_HOOKS = ["bookings.services.inventory_changed_locked"]
# Called with the member (locked) before their account is deleted; each may refuse it with a
# MemberError (members never imports bookings: DESIGN.md).
MEMBER_DELETION_HOOKS = ["bookings.services.before_member_deletion"]
# Called with a payment the provider answered yes to only when asked again (its row locked);
# bookings gives back a fee that stopped being due meanwhile.
PAYMENT_SETTLED_HOOKS = ["bookings.services.fee_answered_late"]

# The REST API (/api/v1/): tokens or the website's session, one JSON error shape, throttles.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "members.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "classpass.api.Pagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "classpass.api.exception_handler",
    # One class checks the user's, the token's (or the address's) and the view's own limit
    # in one Redis round trip (classpass/ratelimit.py).
    "DEFAULT_THROTTLE_CLASSES": ["classpass.ratelimit.RequestRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env("API_THROTTLE_ANON", default="60/min"),
        "user": env("API_THROTTLE_USER", default="1200/min"),
        "token": env("API_THROTTLE_TOKEN", default="600/min"),
        "booking": env("BOOKING_THROTTLE", default="30/min"),
        # E-mails a visitor or member can make the site send: password resets per address
        # and per client address, links that confirm a new address per account.
        "password_reset": env("PASSWORD_RESET_THROTTLE", default="3/hour"),
        "password_reset_ip": env("PASSWORD_RESET_IP_THROTTLE", default="20/hour"),
        "email_change": env("EMAIL_CHANGE_THROTTLE", default="5/hour"),
        # Sign-ups per client address: each e-mails the address given, and a refusal tells
        # whether an account has it.
        "sign_up_ip": env("SIGN_UP_IP_THROTTLE", default="20/hour"),
    },
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
REST_KNOX = {"TOKEN_TTL": None, "AUTH_HEADER_PREFIX": "Token", "AUTO_REFRESH": False}
SPECTACULAR_SETTINGS = {
    "TITLE": "classpass API",
    # CommonMark: a bare <token> would be read as an HTML tag and vanish from the page.
    "DESCRIPTION": "Search and book classes with credits; run a studio's inventory.\n\n"
    "Authenticate with a personal token, created on your account page (`/me/`) and shown "
    "once: send `Authorization: Token <token>`. In a browser logged in to the website the "
    "session works too; unsafe methods then need the CSRF token in `X-CSRFToken`.\n\n"
    'Every error is `{"error": {"code", "message", "fields"}}` with its HTTP status.',
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "CreditKindEnum": "members.models.CreditKind",
        "EarningKindEnum": "studios.models.EarningKind",
        "ReservationKindEnum": "bookings.models.ReservationKind",
        "ReservationStatusEnum": "bookings.models.ReservationStatus",
        "SessionStatusEnum": "studios.models.SessionStatus",
        "SubscriptionStatusEnum": "members.models.SubscriptionStatus",
        "OpportunityStatusEnum": "premium.models.OpportunityStatus",
        "CategoryEnum": "studios.models.Category",
        "CampaignStatusEnum": "marketing.models.CampaignStatus",
    },
}

# Where studio webhooks may be delivered: public addresses only in production (no SSRF into
# private networks); only this machine in development and tests.
WEBHOOK_DELIVERY = env("WEBHOOK_DELIVERY", default="public" if PRODUCTION else "loopback")

# Nightly scans: studios per chunk, and an optional pause after each chunk task (seconds).
SCAN_CHUNK_STUDIOS = env.int("SCAN_CHUNK_STUDIOS", default=200)
SCAN_CHUNK_PAUSE = env.float("SCAN_CHUNK_PAUSE", default=0.0)
