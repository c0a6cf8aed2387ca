"""Configuration classes; every deployment setting comes from the environment.

`create_app()` picks a class by `APP_ENV` (development, test, production), then
overlays the environment variables named in `ENVIRONMENT` (read when the app is
created, not at import). Production refuses to start without its secrets: nothing
there has a usable default.
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
        "DATABASE_URL": "SQLALCHEMY_DATABASE_URI",
        "RATELIMIT_STORAGE_URI": "RATELIMIT_STORAGE_URI",
        "STORAGE_DIR": "STORAGE_DIR",
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
        "PUBLIC_URL": "PUBLIC_URL",
        "MAIL_URL": "MAIL_URL",
        "MAIL_FROM": "MAIL_FROM",
        "MAIL_REPLY_TO": "MAIL_REPLY_TO",
        "SUPPORT_EMAIL": "SUPPORT_EMAIL",
        "PROCONNECT_ISSUER": "PROCONNECT_ISSUER",
        "PROCONNECT_CLIENT_ID": "PROCONNECT_CLIENT_ID",
        "PROCONNECT_CLIENT_SECRET": "PROCONNECT_CLIENT_SECRET",
        "PROCONNECT_REQUIRED_ROLES": "PROCONNECT_REQUIRED_ROLES",
        "MAX_CONTENT_LENGTH": "MAX_CONTENT_LENGTH",
        "API_MAX_CONTENT_LENGTH": "API_MAX_CONTENT_LENGTH",
    }
    # Settings read from the environment as whole numbers.
    INTEGERS: tuple[str, ...] = ("MAX_CONTENT_LENGTH", "API_MAX_CONTENT_LENGTH")
    REQUIRED: tuple[str, ...] = ()

    SECRET_KEY: str | None = None
    SQLALCHEMY_DATABASE_URI: str | None = None
    SQLALCHEMY_ENGINE_OPTIONS: dict[str, Any] = {"pool_pre_ping": True}

    # Sessions: the cookie is never readable from JavaScript, never sent cross-site
    # on a POST, and (outside development and tests) only over HTTPS.
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = True
    PERMANENT_SESSION_LIFETIME = 8 * 3600

    WTF_CSRF_ENABLED = True
    WTF_CSRF_TIME_LIMIT = 8 * 3600

    BABEL_DEFAULT_LOCALE = "fr"
    BABEL_DEFAULT_TIMEZONE = "Europe/Paris"
    LANGUAGES = ("fr", "en")

    # Rate limits (Flask-Limiter): memory for one web process, Redis for several.
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    # Only failed logins count: per account, and per network address with a ceiling high
    # enough for a whole school signing in from behind one address.
    LOGIN_FAILURES_PER_EMAIL = "5 per 15 minutes"
    LOGIN_FAILURES_PER_ADDRESS = "200 per 15 minutes"
    # Password-reset, activation and address-change requests (each sends a mail).
    MAIL_REQUESTS_PER_EMAIL = "3 per hour"
    MAIL_REQUESTS_PER_ADDRESS = "60 per hour"

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

    # ProConnect, the State's sign-in for its agents (OpenID Connect). No issuer: no button.
    PROCONNECT_ISSUER = ""
    PROCONNECT_CLIENT_ID = ""
    PROCONNECT_CLIENT_SECRET = ""
    # Roles that must sign in with ProConnect, not a password (comma-separated). Empty
    # outside production, so the demo and the tests can use passwords for everyone.
    PROCONNECT_REQUIRED_ROLES = ""

    # Uploaded and generated files (logos, receipts, statements), named by their SHA-256.
    # With several web machines this directory must be shared by all of them.
    STORAGE_DIR = str(INSTANCE_DIR / "storage")
    LOGO_MAX_BYTES = 512 * 1024

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
    STRIPE_SECRET_KEY = ""
    STRIPE_WEBHOOK_SECRET = ""
    STRIPE_HTTP_CLIENT: object | None = None  # tests plug a local transport here

    # Dashboards read a summary rebuilt by a job when it is older than this.
    REPORTING_MAX_AGE_SECONDS = 600

    API_TITLE = "Compte Ressources"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> dict[str, Any]:
        """The settings this environment overrides, read now."""
        settings: dict[str, Any] = {
            key: environ[var] for var, key in cls.ENVIRONMENT.items() if environ.get(var)
        }
        for key in cls.INTEGERS:
            if key in settings:
                try:
                    settings[key] = int(settings[key])
                except ValueError:
                    raise RuntimeError(
                        f"{key} doit être un nombre entier (reçu : {settings[key]!r})"
                    ) from None
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
    REQUIRED = ("SECRET_KEY", "DATABASE_URL", "MAIL_URL", "PUBLIC_URL")
    PROCONNECT_REQUIRED_ROLES = "academy_manager,reviewer,admin"

    @classmethod
    def check(cls, environ: Mapping[str, str] = os.environ) -> None:
        super().check(environ)
        if environ.get("PAYOUT_GATEWAY") == "stripe":
            missing = [
                v for v in ("STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET") if not environ.get(v)
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
    """The configuration class named by `name`, else by `APP_ENV` (development)."""
    name = name or os.environ.get("APP_ENV") or "development"
    try:
        return CONFIGS[name]
    except KeyError:
        raise RuntimeError(f"APP_ENV inconnu : {name!r} (attendu : {', '.join(CONFIGS)})") from None
