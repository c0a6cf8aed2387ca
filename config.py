"""Configuration classes; every deployment setting comes from the environment.

`create_app()` picks a class by `APP_ENV` (development, test, production), then
overlays the environment variables named in `ENVIRONMENT` (read when the app is
created, not at import). Production refuses to start without its secrets: nothing
there has a usable default.

`APP_ENV` has no default: a server started without it refuses to start rather than
run as development (a public SECRET_KEY, the demo routes). A developer's machine is
one that says so: the Makefile's targets export `APP_ENV=development`, the tests name
their configuration, and whoever runs `flask` by hand exports `APP_ENV` first.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = BASE_DIR / "instance"


class Config:
    """Settings shared by every environment."""

    ENV_NAME = "base"
    # environment variable → configuration key
    ENVIRONMENT: Mapping[str, str] = {
        "SECRET_KEY": "SECRET_KEY",
        "SECRET_KEY_FALLBACKS": "SECRET_KEY_FALLBACKS",
        "SESSION_LIFETIME_SECONDS": "PERMANENT_SESSION_LIFETIME",
        "SESSION_IDLE_SECONDS": "SESSION_IDLE_TIMEOUT",
        "DATABASE_URL": "SQLALCHEMY_DATABASE_URI",
        "RATELIMIT_STORAGE_URI": "RATELIMIT_STORAGE_URI",
        "STORAGE_URL": "STORAGE_URL",
        "API_REQUESTS_PER_TOKEN": "API_REQUESTS_PER_TOKEN",
        "PSEUDONYM_KEY": "PSEUDONYM_KEY",
        "GAR_BASE_URL": "GAR_BASE_URL",
        "GAR_CERT_FILE": "GAR_CERT_FILE",
        "GAR_KEY_FILE": "GAR_KEY_FILE",
        "GAR_CA_FILE": "GAR_CA_FILE",
        "GAR_DISTRIBUTOR_ID": "GAR_DISTRIBUTOR_ID",
        "DEMO_BASE_URL": "DEMO_BASE_URL",
        "PAYOUT_GATEWAY": "PAYOUT_GATEWAY",
        "STRIPE_SECRET_KEY": "STRIPE_SECRET_KEY",
        "STRIPE_WEBHOOK_SECRET": "STRIPE_WEBHOOK_SECRET",
        "STRIPE_CONNECT_WEBHOOK_SECRET": "STRIPE_CONNECT_WEBHOOK_SECRET",
        "PUBLIC_URL": "PUBLIC_URL",
        "MAIL_URL": "MAIL_URL",
        "MAIL_FROM": "MAIL_FROM",
        "MAIL_REPLY_TO": "MAIL_REPLY_TO",
        "SUPPORT_EMAIL": "SUPPORT_EMAIL",
        "ACCESSIBILITY_EMAIL": "ACCESSIBILITY_EMAIL",
        "DPO_EMAIL": "DPO_EMAIL",
        "DPO_ADDRESS": "DPO_ADDRESS",
        "PUBLISHER_NAME": "PUBLISHER_NAME",
        "PUBLISHER_ADDRESS": "PUBLISHER_ADDRESS",
        "PUBLICATION_DIRECTOR": "PUBLICATION_DIRECTOR",
        "HOST_NAME": "HOST_NAME",
        "HOST_ADDRESS": "HOST_ADDRESS",
        "PROCONNECT_ISSUER": "PROCONNECT_ISSUER",
        "PROCONNECT_CLIENT_ID": "PROCONNECT_CLIENT_ID",
        "PROCONNECT_CLIENT_SECRET": "PROCONNECT_CLIENT_SECRET",
        "PROCONNECT_REQUIRED_ROLES": "PROCONNECT_REQUIRED_ROLES",
        "PROXY_FIX_X_FOR": "PROXY_FIX_X_FOR",
        "DATABASE_REPLICA_URL": "DATABASE_REPLICA_URL",
        "LOG_FORMAT": "LOG_FORMAT",
        "LOG_LEVEL": "LOG_LEVEL",
        "METRICS_TOKEN": "METRICS_TOKEN",
        "SENTRY_DSN": "SENTRY_DSN",
        "MAX_CONTENT_LENGTH": "MAX_CONTENT_LENGTH",
        "API_MAX_CONTENT_LENGTH": "API_MAX_CONTENT_LENGTH",
        "JOBS_BATCH_SIZE": "JOBS_BATCH_SIZE",
    }
    REQUIRED: tuple[str, ...] = ()

    SECRET_KEY: str | None = None
    # Former keys, still accepted to read what they signed (session cookies, links in
    # mails) while SECRET_KEY signs everything new: SECRET_KEY_FALLBACKS=old1,old2.
    SECRET_KEY_FALLBACKS: tuple[str, ...] = ()
    SQLALCHEMY_DATABASE_URI: str | None = None
    SQLALCHEMY_ENGINE_OPTIONS: dict[str, Any] = {"pool_pre_ping": True}
    # A read replica for the dashboards and exports (app/reporting); unset: the primary.
    DATABASE_REPLICA_URL = ""

    # How many reverse proxies stand in front of the app and set X-Forwarded-For (werkzeug's
    # ProxyFix): the client's address is then the one the nearest proxy saw, so the
    # per-address limits count each visitor, not the proxy. 0: no proxy, the header ignored.
    PROXY_FIX_X_FOR = 0

    # Sessions: the cookie is never readable from JavaScript, never sent cross-site
    # on a POST, and (outside development and tests) only over HTTPS.
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = True
    # A session ends this long after signing in, whatever happens (seconds), and sooner
    # after this long without a request; both checked by the server (app/accounts/signin.py).
    PERMANENT_SESSION_LIFETIME = 12 * 3600
    SESSION_IDLE_TIMEOUT = 2 * 3600
    # Strict-Transport-Security (app/core/security_headers.py): browsers then refuse plain
    # HTTP to the service for two years. Production only, where HTTPS is certain.
    STRICT_TRANSPORT_SECURITY = False

    WTF_CSRF_ENABLED = True
    WTF_CSRF_TIME_LIMIT = 8 * 3600

    BABEL_DEFAULT_LOCALE = "fr"
    BABEL_DEFAULT_TIMEZONE = "Europe/Paris"
    LANGUAGES = ("fr", "en")

    # Rate limits (Flask-Limiter): memory for one web process, Redis for several.
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    # Only failed logins count: per account from one network address (so nobody elsewhere
    # can lock its owner out), and per network address with a ceiling high enough for a
    # whole school signing in from behind one address (docs/decisions/0017).
    LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS = "5 per 15 minutes"
    LOGIN_FAILURES_PER_ADDRESS = "200 per 15 minutes"
    # Password-reset, activation and address-change requests (each sends a mail).
    MAIL_REQUESTS_PER_EMAIL = "3 per hour"
    MAIL_REQUESTS_PER_ADDRESS = "60 per hour"
    # The pages the links in those mails open (choosing a password), per network address.
    LINK_PAGES_PER_ADDRESS = "300 per hour"
    # Companies registering (each creates an account and sends a mail), per network address.
    VENDOR_REGISTRATIONS_PER_ADDRESS = "20 per hour"
    # Suggestions as one types in the catalogue's search (a request every few keystrokes),
    # per network address: a whole school may search from behind one address.
    SEARCH_SUGGESTIONS_PER_ADDRESS = "600 per minute"
    # The open-data API (public, no token), per network address.
    OPENDATA_API_PER_ADDRESS = "300 per minute"
    # The vendors' API, per token (requests without a valid token: per network address).
    API_REQUESTS_PER_TOKEN = "600 per minute"  # noqa: S105 - a rate, not a secret

    # The address people reach the service at: every link in a mail is built from it,
    # never from the request's Host header.
    PUBLIC_URL = ""
    # Where mail goes: smtp://host:port, smtps://…, smtp+starttls://…, with user:password@
    # when the server asks; file:///path writes .eml files (development).
    MAIL_URL = ""
    MAIL_FROM = "Compte Ressources <ne-pas-repondre@compte-ressources.education.gouv.fr>"
    MAIL_REPLY_TO = ""
    MAIL_TIMEOUT_SECONDS = 30
    # Where people write to the operator (e.g. to contest a refusal): shown on the pages.
    SUPPORT_EMAIL = "assistance@compte-ressources.education.gouv.fr"
    # The public information pages (app/site): who to write to about accessibility and
    # personal data, who publishes the service and who hosts it (mentions légales).
    ACCESSIBILITY_EMAIL = "accessibilite@compte-ressources.education.gouv.fr"
    DPO_EMAIL = "dpd@compte-ressources.education.gouv.fr"
    DPO_ADDRESS = (
        "Délégué à la protection des données, ministère de l’Éducation nationale, "
        "110 rue de Grenelle, 75357 Paris SP 07"
    )
    PUBLISHER_NAME = "Ministère de l’Éducation nationale"
    PUBLISHER_ADDRESS = "110 rue de Grenelle, 75357 Paris SP 07"
    PUBLICATION_DIRECTOR = "Le directeur du numérique pour l’éducation"
    HOST_NAME = "Ministère de l’Éducation nationale, direction du numérique pour l’éducation"
    HOST_ADDRESS = "110 rue de Grenelle, 75357 Paris SP 07"

    # ProConnect, the State's sign-in for its agents (OpenID Connect). No issuer: no button.
    PROCONNECT_ISSUER = ""
    PROCONNECT_CLIENT_ID = ""
    PROCONNECT_CLIENT_SECRET = ""
    # Roles that must sign in with ProConnect, not a password (comma-separated). Empty
    # outside production, so the demo and the tests can use passwords for everyone.
    PROCONNECT_REQUIRED_ROLES = ""

    # Uploaded and generated files (logos, receipts, statements), named by their SHA-256
    # (app/core/storage.py): file:///dir on one machine; s3://bucket/prefix?endpoint_url=…
    # &region=… when several web machines must all serve every file.
    STORAGE_URL = (INSTANCE_DIR / "storage").as_uri()
    LOGO_MAX_BYTES = 512 * 1024
    SCREENSHOT_MAX_BYTES = 2 * 1024 * 1024

    # The most a request body may weigh, in bytes (app/core/limits.py): Flask answers 413
    # before reading more. A form with a file (allocation file, codes, logo) stays under
    # MAX_CONTENT_LENGTH; a JSON body of the API under API_MAX_CONTENT_LENGTH.
    MAX_CONTENT_LENGTH = 10 * 1024 * 1024
    API_MAX_CONTENT_LENGTH = 1024 * 1024

    # The jobs outbox (app/core/jobs.py): retries with backoff, leases of running jobs.
    JOBS_MAX_ATTEMPTS = 8
    JOBS_BACKOFF_SECONDS = 30
    JOBS_BACKOFF_MAX_SECONDS = 6 * 3600
    JOBS_LEASE_SECONDS = 300
    JOBS_RECLAIM_EVERY_SECONDS = 30
    # Jobs a worker claims at once (one statement), sharing one lease: the batch must run
    # well within JOBS_LEASE_SECONDS (past half of it, the jobs not started go back).
    JOBS_BATCH_SIZE = 10
    # A worker that cannot reach the database waits 1, 2, 4… seconds, at most this long.
    JOBS_RECONNECT_MAX_SECONDS = 30
    # Run queued jobs right after the request (development: no worker to start).
    JOBS_INLINE = False
    JOBS_INLINE_MAX = 20
    DEMO_PEERS = False
    DEMO_BASE_URL = ""

    # Provisioning: calls to vendors' servers and to the GAR.
    WEBHOOK_TIMEOUT_SECONDS = 10
    # Let vendors' webhook URLs lead to loopback, private or link-local addresses. Off
    # (production): only public Internet addresses are called (app/licences/targets.py).
    # On in development and tests, whose stand-in vendors listen on 127.0.0.1.
    WEBHOOK_ALLOW_LOCAL_TARGETS = False
    PSEUDONYM_KEY: str | None = None  # the key of teachers' pseudonyms (SECRET_KEY if unset)
    GAR_BASE_URL = ""  # e.g. https://abonnement.gar.education.fr/ ; empty: GAR not set up
    GAR_CERT_FILE = ""  # client certificate and key given by the GAR
    GAR_KEY_FILE = ""
    GAR_CA_FILE = ""
    GAR_DISTRIBUTOR_ID = ""  # our idDistributeurCom (SIREN_ISNI), given by the GAR

    # Paying vendors: "manual" (bank transfers from the CSV export) or "stripe" (Connect).
    PAYOUT_GATEWAY = "manual"
    # sk_live_… or sk_test_…: events of the other mode are refused. Stripe signs the events
    # of the platform's own account (transfers) and those of the connected accounts
    # (vendors' accounts, their bank payouts) for two endpoints, each with its own secret.
    STRIPE_SECRET_KEY = ""
    STRIPE_WEBHOOK_SECRET = ""  # /webhooks/stripe
    STRIPE_CONNECT_WEBHOOK_SECRET = ""  # /webhooks/stripe/connect
    STRIPE_HTTP_CLIENT: object | None = None  # tests plug a local transport here

    # Dashboards read a summary rebuilt by a job when it is older than this.
    REPORTING_MAX_AGE_SECONDS = 600

    # Seeing what runs (app/core/logs.py, metrics.py, sentry.py). Logs: "json" (one object
    # per line) or "text". /metrics answers only `Authorization: Bearer <METRICS_TOKEN>`,
    # and is not there at all without a token. Errors go to Sentry when SENTRY_DSN is set.
    LOG_FORMAT = "text"
    LOG_LEVEL = "INFO"
    METRICS_TOKEN = ""
    SENTRY_DSN = ""

    API_TITLE = "Compte Ressources"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> dict[str, object]:
        """The settings this environment overrides, read now: a whole number where the
        default is one (seconds), a list where it is one (comma-separated)."""
        settings: dict[str, object] = {}
        for var, key in cls.ENVIRONMENT.items():
            value = environ.get(var)
            if not value:
                continue
            default = getattr(cls, key, None)
            if isinstance(default, tuple):
                settings[key] = tuple(part.strip() for part in value.split(",") if part.strip())
            elif isinstance(default, int) and not isinstance(default, bool):
                if not value.strip().isdigit():
                    raise RuntimeError(f"{var} doit être un nombre entier : {value!r}")
                settings[key] = int(value)
            else:
                settings[key] = value
        return settings

    @classmethod
    def check(cls, environ: Mapping[str, str] = os.environ) -> None:
        """Refuse to start when a variable the environment must provide is missing."""
        missing = [var for var in cls.REQUIRED if not environ.get(var)]
        if missing:
            raise RuntimeError(
                f"Configuration {cls.ENV_NAME} incomplète : définissez " + ", ".join(missing)
            )


class DevelopmentConfig(Config):
    ENV_NAME = "development"
    SECRET_KEY = "dev-only-not-secret"  # noqa: S105 - development only
    SQLALCHEMY_DATABASE_URI = f"sqlite:///{INSTANCE_DIR / 'compte-ressources.sqlite'}"
    JOBS_INLINE = True
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_SECURE = False
    # Stand-ins for the vendors' servers and the GAR, served by the app itself
    # (app/licences/demo_peers.py), so every channel works out of the box.
    DEMO_PEERS = True
    DEMO_BASE_URL = "http://127.0.0.1:5000"
    WEBHOOK_ALLOW_LOCAL_TARGETS = True
    GAR_BASE_URL = "http://127.0.0.1:5000/demo/gar/abonnements"
    GAR_DISTRIBUTOR_ID = "000000000_0000000000000000"
    PUBLIC_URL = "http://127.0.0.1:5000"
    MAIL_URL = f"file://{INSTANCE_DIR / 'mail'}"
    # The local ProConnect that `make run` starts (tests/peers/proconnect.mjs).
    PROCONNECT_ISSUER = "http://127.0.0.1:9000"
    PROCONNECT_CLIENT_ID = "compte-ressources"
    PROCONNECT_CLIENT_SECRET = "secret-de-demonstration"  # noqa: S105 - development only


class TestConfig(Config):
    ENV_NAME = "test"
    ENVIRONMENT: Mapping[str, str] = {"TEST_DATABASE_URL": "SQLALCHEMY_DATABASE_URI"}
    TESTING = True
    SECRET_KEY = "test-only-not-secret"  # noqa: S105 - tests only
    SQLALCHEMY_DATABASE_URI = f"sqlite:///{INSTANCE_DIR / 'test.sqlite'}"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_SECURE = False
    # Most tests post forms without a token; the CSRF tests switch it back on.
    WTF_CSRF_ENABLED = False
    PUBLIC_URL = "http://compte-ressources.test"
    MAIL_URL = ""  # each mail test points it at its own SMTP server or directory
    WEBHOOK_ALLOW_LOCAL_TARGETS = True  # the tests' vendor servers listen on 127.0.0.1


class ProductionConfig(Config):
    ENV_NAME = "production"
    # STORAGE_URL too: invoices and receipts are kept ten years, never in the code's
    # directory (instance/storage, the default elsewhere) that a deployment replaces.
    REQUIRED = ("SECRET_KEY", "DATABASE_URL", "MAIL_URL", "PUBLIC_URL", "STORAGE_URL")
    PROXY_FIX_X_FOR = 1  # one reverse proxy (the load balancer) in front of gunicorn
    LOG_FORMAT = "json"
    PROCONNECT_REQUIRED_ROLES = "academy_manager,reviewer,admin"
    # The browser keeps a "__Host-" cookie only if it is Secure, for this host alone and
    # its whole path: no sibling domain can plant or overwrite it.
    SESSION_COOKIE_NAME = "__Host-session"
    STRICT_TRANSPORT_SECURITY = True

    @classmethod
    def check(cls, environ: Mapping[str, str] = os.environ) -> None:
        super().check(environ)
        if environ.get("SECRET_KEY_FALLBACKS") and not environ.get("PSEUDONYM_KEY"):
            # Pseudonyms sent to vendors and the GAR are keyed by SECRET_KEY when
            # PSEUDONYM_KEY is unset: a new SECRET_KEY would change every one of them.
            raise RuntimeError(
                "Configuration production incomplète : avant de changer SECRET_KEY, "
                "définissez PSEUDONYM_KEY (l'ancienne SECRET_KEY, si elle n'était pas définie)"
            )
        if environ.get("PAYOUT_GATEWAY") == "stripe":
            missing = [
                v
                for v in (
                    "STRIPE_SECRET_KEY",
                    "STRIPE_WEBHOOK_SECRET",
                    "STRIPE_CONNECT_WEBHOOK_SECRET",
                )
                if not environ.get(v)
            ]
            if missing:
                raise RuntimeError(
                    "Configuration production incomplète : définissez " + ", ".join(missing)
                )


CONFIGS: dict[str, type[Config]] = {
    "development": DevelopmentConfig,
    "test": TestConfig,
    "production": ProductionConfig,
}


def config_for(name: str | None = None) -> type[Config]:
    """The configuration class named by `name`, else by `APP_ENV`, which must be set."""
    name = name or os.environ.get("APP_ENV")
    if not name:
        raise RuntimeError(
            "APP_ENV n'est pas défini : définissez APP_ENV=production sur un serveur, "
            "APP_ENV=development sur un poste de développement (`make run` le fait), "
            "ou APP_ENV=test."
        )
    try:
        return CONFIGS[name]
    except KeyError:
        raise RuntimeError(f"APP_ENV inconnu : {name!r} (attendu : {', '.join(CONFIGS)})") from None
