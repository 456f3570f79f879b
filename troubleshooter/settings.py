"""One settings module, driven by environment variables.

With nothing set it runs embedded: SQLite in the data folder and the in-memory channel layer.
DATABASE_URL and REDIS_URL switch to the hosted parts (PostgreSQL, channels_redis).
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from troubleshooter.environment import BadSetting, env_flag, env_list, is_hosted, networks_setting, outbound_policy

BASE_DIR = Path(__file__).resolve().parent.parent
# In a checkout the templates, static files and guides sit at the top level beside the code;
# an installed wheel carries them inside the package (see pyproject.toml's package-dir).
IN_CHECKOUT = (BASE_DIR / "manage.py").is_file()
SITE_DIR = BASE_DIR if IN_CHECKOUT else Path(__file__).resolve().parent / "site"
# Where the embedded default keeps its SQLite file: the checkout, or the folder an installed
# command is started from.
DATA_DIR = Path(os.environ.get("DATA_DIR") or (BASE_DIR if IN_CHECKOUT else Path.cwd()))


DEBUG = env_flag("DEBUG")

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DEBUG is off. "
            "Set DEBUG=1 for local development, or export a long random SECRET_KEY."
        )
    SECRET_KEY = "insecure-development-key-only-used-with-DEBUG-on"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    # First, so that runserver serves ASGI (and websockets) through Daphne.
    "daphne",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.admin",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "django_htmx",
    "troubleshooter.guides",
    "troubleshooter.runs",
    "troubleshooter.lab",
]

MIDDLEWARE = [
    "troubleshooter.request_id.request_id_middleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "troubleshooter.sign_in.trusted_header_sign_in",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "troubleshooter.urls"
ASGI_APPLICATION = "troubleshooter.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [SITE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "troubleshooter.pages.navigation",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    }
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{DATA_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A pool per worker process, holding at most DB_POOL_SIZE connections. Under ASGI every
    # request runs its database work in a thread of its own, and persistent connections
    # stayed with finished threads: a burst of form posts took every connection the server
    # had. Pooled, a connection goes back when a request or a run's write is done, and a
    # burst waits for one (up to DB_POOL_TIMEOUT seconds) instead of failing.
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # the pool keeps them; Django's persistence must be off
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = False
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": int(os.environ.get("DB_POOL_SIZE", "10")),
        "timeout": float(os.environ.get("DB_POOL_TIMEOUT", "30")),
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Runs write their events several times a second while pages read them: the write-ahead
    # log lets readers and the writer work at once, and NORMAL syncing is safe with it.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"


def redis_channel_layer(url: str) -> dict[str, object]:
    # redis-py 8 reads with a 5 s socket timeout by default, the same length as the
    # blocking pop channels_redis waits on, so idle sockets failed with "Timeout
    # reading"; the blocking pop has its own server-side timeout.
    return {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [{"address": url, "socket_timeout": None}]},
    }


REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CHANNEL_LAYERS = {"default": redis_channel_layer(REDIS_URL)}
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "troubleshooter.channel_layer.InMemoryChannelLayer"}}

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [SITE_DIR / "static"]
# The embedded default serves static files straight from the source folders, so a fresh
# clone needs no collectstatic; hosted deployments set COLLECTED_STATIC=1, run
# collectstatic, and get hashed, compressed names.
WHITENOISE_USE_FINDERS = not env_flag("COLLECTED_STATIC")
if env_flag("COLLECTED_STATIC"):
    STATIC_ROOT = Path(os.environ.get("STATIC_ROOT") or DATA_DIR / "staticfiles")
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }

# Hosted means shared by a team: a database server or a Redis channel layer.
HOSTED = is_hosted()

# The lab's misbehaving endpoints: on in the embedded default, off unless asked for when hosted.
LAB_ENABLED = env_flag("LAB_ENABLED", default=not HOSTED)

# The outbound policy for probes: loopback and private addresses are reachable in the
# embedded default (the user's own machine); hosted, only the networks listed in
# PROBE_ALLOWED_NETWORKS are. Cloud metadata and link-local addresses are never reachable.
# Parsed once here, so a mistyped network stops the app at start-up with a clear message.
try:
    _PROBE_POLICY = outbound_policy()
except BadSetting as error:
    raise ImproperlyConfigured(str(error)) from None
PROBE_ALLOW_PRIVATE = _PROBE_POLICY.allow_private
PROBE_ALLOWED_NETWORKS = _PROBE_POLICY.allowed_networks

# Where the guides live; tests point this at a copy to check that broken content is caught.
GUIDES_DIR = Path(os.environ.get("GUIDES_DIR") or SITE_DIR / "guides")

# Documentation portals that may frame the /embed/ pages (and only those): origins such as
# https://docs.example.com, named in those pages' CSP frame-ancestors.
EMBED_ALLOWED_ORIGINS = env_list("EMBED_ALLOWED_ORIGINS")

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        # No page may be framed; the /embed/ views replace this with 'self' and the origins
        # in EMBED_ALLOWED_ORIGINS (troubleshooter/embedding.py).
        "frame-ancestors": [NONE],
    }
}
# Browsers that know CSP follow frame-ancestors above and ignore this; the few that do not
# get the strictest answer. The /embed/ views are exempt.
X_FRAME_OPTIONS = "DENY"

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if env_flag("BEHIND_TLS_PROXY"):
    # The proxy terminates TLS and says so in X-Forwarded-Proto (the deploy kit's nginx
    # sets it on every request, so a client cannot).
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = True
    # Health checks and scrapers talk to the workers directly, over plain HTTP.
    SECURE_REDIRECT_EXEMPT = [r"^healthz/$", r"^readyz/$", r"^metrics/$"]
    SECURE_HSTS_SECONDS = int(os.environ.get("HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_flag("HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env_flag("HSTS_PRELOAD")
    if not SECURE_HSTS_PRELOAD:
        # Preloading is a promise to browser vendors about a whole public domain; an
        # internal tool's host name usually cannot make it, so it is a choice, not a default.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]

# LOG_FORMAT=json writes one JSON object per line (time, level, logger, message, request id)
# for log collectors; the default is plain text for a person at a terminal.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "text")
if LOG_FORMAT not in ("text", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be text or json, not {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "troubleshooter.request_id.RequestIdFilter"}},
    "formatters": {
        "text": {"format": "%(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_id"]},
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.server": {"level": "WARNING"}, "httpx": {"level": "WARNING"}},
}

# Experiments run from the browser: how long one may run, and how many may run at once,
# in all and per client address.
RUNS_MAX_SECONDS = float(os.environ.get("RUNS_MAX_SECONDS", "300"))
# /metrics/ (Prometheus) answers only a scraper that sends this as a bearer token.
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
# prometheus_client turns its multiprocess mode on when this variable exists at all: set but
# empty, it writes its files into whatever folder the app runs in, and a folder that is
# missing fails at the first metric. Both stop the app here, with the reason.
_metrics_folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _metrics_folder is not None and not (_metrics_folder and Path(_metrics_folder).is_dir()):
    raise ImproperlyConfigured(
        "PROMETHEUS_MULTIPROC_DIR must name an existing folder shared by the workers, or be unset; "
        f"it is {_metrics_folder!r}."
    )
# How many proxies of the deployment's own stand in front of the app (nginx alone: 1; a CDN
# and nginx: 2). Per-client limits then count the address the last of them saw in
# X-Forwarded-For; 0 counts the connection's own address. Daphne's --proxy-headers must not
# be used with it: Daphne would take the leftmost entry, which the client writes.
TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "0"))
RUNS_MAX_ACTIVE = int(os.environ.get("RUNS_MAX_ACTIVE", "20"))
RUNS_MAX_ACTIVE_PER_CLIENT = int(os.environ.get("RUNS_MAX_ACTIVE_PER_CLIENT", "3"))
# Per signed-in user, when accounts are in use: runs at once, and runs started in an hour.
RUNS_MAX_ACTIVE_PER_USER = int(os.environ.get("RUNS_MAX_ACTIVE_PER_USER", "3"))
RUNS_PER_HOUR_PER_USER = int(os.environ.get("RUNS_PER_HOUR_PER_USER", "60"))
# Finished runs are deleted after this many days (`manage.py pruneruns`, and the app itself
# at most once an hour); 0 keeps them forever.
RUNS_KEEP_DAYS = int(os.environ.get("RUNS_KEEP_DAYS", "30"))

# Accounts. Hosted, starting, cancelling and seeing runs needs a login (a run's request and
# findings may describe a private service); guides, the tree, search and the lab stay
# public. REQUIRE_LOGIN_FOR_RUNS=0 opens runs to everyone on an internal network.
REQUIRE_LOGIN_FOR_RUNS = env_flag("REQUIRE_LOGIN_FOR_RUNS", default=HOSTED)
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "run-history"
LOGOUT_REDIRECT_URL = "home"
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]

# Single sign-on through the deployment's proxy: it authenticates the user and passes the
# name in this header. The header is believed only on connections from AUTH_PROXY_NETWORKS
# (the proxies' own addresses); from anywhere else it is dropped, or anyone could name
# themselves.
AUTH_TRUSTED_HEADER = os.environ.get("AUTH_TRUSTED_HEADER", "")
# "unix" in the list stands for connections over the workers' unix sockets (the deploy kit's
# nginx), which carry no address; only processes allowed to open the socket file reach them.
AUTH_PROXY_UNIX_SOCKETS = "unix" in env_list("AUTH_PROXY_NETWORKS")
try:
    AUTH_PROXY_NETWORKS = networks_setting("AUTH_PROXY_NETWORKS", ignore=("unix",))
except BadSetting as error:
    raise ImproperlyConfigured(str(error)) from None
if AUTH_TRUSTED_HEADER:
    if not AUTH_PROXY_NETWORKS and not AUTH_PROXY_UNIX_SOCKETS:
        raise ImproperlyConfigured(
            "AUTH_TRUSTED_HEADER needs AUTH_PROXY_NETWORKS: the addresses of the proxies that set it."
        )
    AUTHENTICATION_BACKENDS.append("troubleshooter.sign_in.TrustedHeaderBackend")

# OpenID Connect (mozilla-django-oidc), on when OIDC_RP_CLIENT_ID is set. The provider's
# endpoints are given one by one, as its discovery document lists them.
OIDC_RP_CLIENT_ID = os.environ.get("OIDC_RP_CLIENT_ID", "")
OIDC_ENABLED = bool(OIDC_RP_CLIENT_ID)
if OIDC_ENABLED:
    INSTALLED_APPS.append("mozilla_django_oidc")
    AUTHENTICATION_BACKENDS.append("troubleshooter.sign_in.OpenIdBackend")
    OIDC_RP_CLIENT_SECRET = os.environ.get("OIDC_RP_CLIENT_SECRET", "")
    OIDC_RP_SIGN_ALGO = os.environ.get("OIDC_RP_SIGN_ALGO", "RS256")
    OIDC_RP_SCOPES = os.environ.get("OIDC_RP_SCOPES", "openid email profile")
    OIDC_OP_AUTHORIZATION_ENDPOINT = os.environ.get("OIDC_OP_AUTHORIZATION_ENDPOINT", "")
    OIDC_OP_TOKEN_ENDPOINT = os.environ.get("OIDC_OP_TOKEN_ENDPOINT", "")
    OIDC_OP_USER_ENDPOINT = os.environ.get("OIDC_OP_USER_ENDPOINT", "")
    OIDC_OP_JWKS_ENDPOINT = os.environ.get("OIDC_OP_JWKS_ENDPOINT", "")
    missing = [
        name for name in ("OIDC_OP_AUTHORIZATION_ENDPOINT", "OIDC_OP_TOKEN_ENDPOINT", "OIDC_OP_USER_ENDPOINT")
        if not globals()[name]
    ]
    if OIDC_RP_SIGN_ALGO.startswith("RS") and not OIDC_OP_JWKS_ENDPOINT:
        missing.append("OIDC_OP_JWKS_ENDPOINT")
    if missing:
        raise ImproperlyConfigured(f"OIDC_RP_CLIENT_ID is set, so these must be too: {', '.join(missing)}")
    LOGIN_REDIRECT_URL_FAILURE = "/accounts/login/?failed=1"
