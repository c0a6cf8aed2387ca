"""The Flask application factory. Nothing runs at import."""

from __future__ import annotations

from flask import Flask, current_app, has_request_context, session

from config import BASE_DIR, Config, config_for


def create_app(config: type[Config] | str | None = None, **overrides: object) -> Flask:
    """Build the application for `config` (a class, a name, or `APP_ENV`)."""
    config_class = config if isinstance(config, type) else config_for(config)
    config_class.check()

    app = Flask(__name__, instance_relative_config=False)
    app.config.from_object(config_class)
    app.config.update(config_class.from_environment())
    app.config.update(overrides)
    if config_class.ENV_NAME == "development":
        app.logger.warning(
            "APP_ENV=development: public SECRET_KEY, demo routes (/demo/…) on, "
            "jobs run inline. Never on a server: set APP_ENV=production there."
        )
    _behind_proxies(app)

    from app.core import logs, metrics, sentry

    sentry.init_app(app)
    logs.configure(app)
    _init_extensions(app)
    _register_blueprints(app)
    _register_messages()
    _register_cli(app)

    from app.core.errors import register_error_handlers
    from app.core.security_headers import register_security_headers
    from app.core.templating import register_template_helpers

    register_error_handlers(app)
    register_security_headers(app)
    register_template_helpers(app)

    from app.core import args, jobs, storage

    args.init_app(app)
    jobs.init_app(app)
    storage.init_app(app)
    metrics.init_app(app)
    return app


def _behind_proxies(app: Flask) -> None:
    """Trust X-Forwarded-For from `PROXY_FIX_X_FOR` proxies (0: none), so that
    `request.remote_addr`, which the per-address limits count, is the visitor's."""
    value = str(app.config["PROXY_FIX_X_FOR"])
    if not value.isdigit():
        raise RuntimeError(f"PROXY_FIX_X_FOR doit être un nombre de proxys (0, 1…) : {value!r}")
    if int(value):
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=int(value), x_proto=0, x_host=0, x_port=0, x_prefix=0
        )


def select_locale() -> str:
    """French unless the person chose English with the language switch."""
    chosen = session.get("lang") if has_request_context() else None
    if chosen in current_app.config["LANGUAGES"]:
        return str(chosen)
    return str(current_app.config["BABEL_DEFAULT_LOCALE"])


def _init_extensions(app: Flask) -> None:
    from app.core import limits, replica
    from app.core.db import enable_sqlite_savepoints
    from app.extensions import api, babel, csrf, db, limiter, login_manager, migrate

    limits.init_app(app)  # first: the body limit is set before any hook reads the body
    enable_sqlite_savepoints()
    replica.init_app(app)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(BASE_DIR / "migrations"))
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = "Connectez-vous pour accéder à cette page."
    login_manager.login_message_category = "info"
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    limiter.init_app(app)
    # The API's document names the server it describes: the one that serves the document
    # (a relative URL, so the document is the same whatever address it was read from; the
    # unbound `api` keeps one document for every app built in a process).
    api.init_app(app, spec_kwargs={"servers": [{"url": "/", "description": "Compte Ressources"}]})

    from app import models  # noqa: F401 - every model registered before the mappers configure


def _register_blueprints(app: Flask) -> None:
    from app.accounts.admin_routes import blueprint as users
    from app.accounts.proconnect import blueprint as proconnect
    from app.accounts.profile import blueprint as profile
    from app.accounts.routes import blueprint as accounts
    from app.accounts.token_routes import blueprint as tokens
    from app.budgets.routes import blueprint as budgets
    from app.core.audit_admin import blueprint as audit
    from app.core.health import blueprint as health
    from app.core.jobs_admin import blueprint as jobs
    from app.core.metrics import blueprint as metrics
    from app.documents.routes import blueprint as documents
    from app.extensions import api
    from app.invoices.routes import blueprint as invoices
    from app.licences.api import blueprint as licences_api
    from app.licences.routes import blueprint as licences
    from app.notifications.routes import blueprint as notifications
    from app.opendata.api import blueprint as opendata_api
    from app.opendata.routes import blueprint as opendata
    from app.orders.routes import blueprint as orders
    from app.payouts.routes import blueprint as payouts
    from app.pooled_purchases.routes import blueprint as pooled_purchases
    from app.products.routes import blueprint as products
    from app.reporting.routes import blueprint as reporting
    from app.site.routes import blueprint as site
    from app.vendors.routes import blueprint as vendors
    from app.vetting.routes import blueprint as vetting

    for blueprint in (
        health,
        metrics,
        accounts,
        profile,
        proconnect,
        budgets,
        vendors,
        tokens,
        products,
        vetting,
        licences,
        orders,
        pooled_purchases,
        payouts,
        invoices,
        reporting,
        documents,
        jobs,
        notifications,
        opendata,
        site,
        users,
        audit,
    ):
        app.register_blueprint(blueprint)
    api.register_blueprint(licences_api)
    api.register_blueprint(opendata_api)
    if app.config["DEMO_PEERS"]:
        from app.licences.demo_peers import blueprint as demo_peers

        app.register_blueprint(demo_peers)
        from app.mail.demo import blueprint as mail_demo

        app.register_blueprint(mail_demo)


def _register_messages() -> None:
    """Every feature's e-mails (app/mail): declared when their module is imported."""
    from app.accounts import mails as accounts_mails  # noqa: F401
    from app.budgets import notices as budgets_notices  # noqa: F401
    from app.core import notices as core_notices  # noqa: F401
    from app.licences import notices as licences_notices  # noqa: F401
    from app.orders import notices as orders_notices  # noqa: F401
    from app.payouts import mails as payouts_mails  # noqa: F401
    from app.payouts import notices as payouts_notices  # noqa: F401
    from app.pooled_purchases import notices as pooled_notices  # noqa: F401
    from app.reporting import notices as reporting_notices  # noqa: F401
    from app.vendors import mails as vendors_mails  # noqa: F401
    from app.vendors import notices as vendors_notices  # noqa: F401
    from app.vetting import notices as vetting_notices  # noqa: F401


def _register_cli(app: Flask) -> None:
    from app.budgets.cli import budgets_cli
    from app.core.jobs_admin import jobs_cli
    from app.core.retention import retention_cli
    from app.demo import seed_demo_command
    from app.ledger.cli import ledger_cli
    from app.licences.cli import gar_cli, licences_cli
    from app.opendata.cli import opendata_cli
    from app.payouts.cli import payouts_cli
    from app.vendors.cli import vendors_cli

    app.cli.add_command(budgets_cli)
    app.cli.add_command(ledger_cli)
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(vendors_cli)
    app.cli.add_command(jobs_cli)
    app.cli.add_command(licences_cli)
    app.cli.add_command(gar_cli)
    app.cli.add_command(payouts_cli)
    app.cli.add_command(retention_cli)
    app.cli.add_command(opendata_cli)
