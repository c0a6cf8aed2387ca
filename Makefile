# Compte Ressources — every command a developer or CI needs.
# `make run` and `make test` work on a fresh clone: they install what is missing first.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DSFR := node_modules/@gouvfr/dsfr/dist
STATIC_DSFR := app/static/dsfr
export FLASK_APP := app
# The app refuses to start without APP_ENV (config.py): the commands a developer runs
# here are for development, unless APP_ENV says otherwise (e.g. `make migrate` on a server).
run migrate seed: export APP_ENV ?= development

.PHONY: help install run test test-sqlite lint format system-packages migrate seed translations \
        translations-update backup restore clean serve accessibility-audit

help: ## List the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

install: $(BIN)/.installed $(STATIC_DSFR)/.installed translations ## Install Python and front-end dependencies

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

# The State design system, served from our own static files (never from a CDN).
$(STATIC_DSFR)/.installed: node_modules/.installed
	rm -rf $(STATIC_DSFR) && mkdir -p $(STATIC_DSFR)/utility
	cp -r $(DSFR)/dsfr.min.css $(DSFR)/dsfr.module.min.js $(DSFR)/dsfr.nomodule.min.js \
	      $(DSFR)/fonts $(DSFR)/icons $(DSFR)/favicon $(STATIC_DSFR)/
	cp -r $(DSFR)/utility/icons $(STATIC_DSFR)/utility/
	touch $@

translations: $(BIN)/.installed ## Compile the translation catalogues
	$(BIN)/pybabel -q compile -d app/translations

translations-update: $(BIN)/.installed ## Extract new strings into app/translations/*/messages.po
	mkdir -p instance
	$(BIN)/pybabel extract -F babel.cfg -k _l -o instance/messages.pot --no-location --omit-header .
	$(BIN)/pybabel update -i instance/messages.pot -d app/translations

# Debian packages the tests and PDF rendering need: Chromium for the browser tests, Java for
# the Nu HTML Checker (the accessibility audit),
# Pango for WeasyPrint, fonts for Chromium and WeasyPrint. Installed only when missing.
system-packages:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v java >/dev/null 2>&1 || missing="$$missing default-jre-headless"; \
	ldconfig -p | grep -q libpango-1.0 || missing="$$missing libpango-1.0-0 libpangoft2-1.0-0"; \
	[ -d /usr/share/fonts/truetype/dejavu ] || missing="$$missing fonts-dejavu-core"; \
	if [ -n "$$missing" ]; then \
	  sudo=""; [ "$$(id -u)" = 0 ] || sudo="sudo"; \
	  echo "Installing Debian packages:$$missing"; \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq $$missing; \
	fi

migrate: install ## Apply the database migrations
	mkdir -p instance
	$(BIN)/flask db upgrade

seed: migrate ## Fill the database with the demo (safe to run again)
	$(BIN)/flask seed-demo

# The app, and beside it a local ProConnect (tests/peers/proconnect.mjs, demo identities)
# on 127.0.0.1:9000, stopped with the app.
run: seed ## Install, migrate, seed the demo and serve on http://127.0.0.1:5000
	node tests/peers/proconnect.mjs & provider=$$!; trap "kill $$provider" EXIT; \
	$(BIN)/flask run --host 127.0.0.1 --port 5000

# Production's way on this machine: PostgreSQL (database compte_ressources, created, migrated
# and seeded with the demo when missing), gunicorn with gunicorn.conf.py (two workers), a jobs
# worker that also schedules, and the local ProConnect, APP_ENV=production with local values
# for what production demands (the secret key generated once into instance/secret_key).
# Ctrl-C stops them all.
SERVE_DATABASE_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/compte_ressources
SERVE_PORT ?= 8000

serve: install ## Serve as production does (gunicorn + jobs worker, PostgreSQL) on http://127.0.0.1:8000
	mkdir -p instance
	test -s instance/secret_key || (umask 077 && $(BIN)/python -c \
	  'import secrets; print(secrets.token_urlsafe(48))' > instance/secret_key)
	$(BIN)/python -c 'import sys, psycopg; from sqlalchemy.engine import make_url; \
	  url = make_url(sys.argv[1]); server = url.set(drivername="postgresql", database="postgres"); \
	  conn = psycopg.connect(server.render_as_string(False), autocommit=True); \
	  found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (url.database,)); \
	  found.fetchone() or conn.execute(f"CREATE DATABASE \"{url.database}\"")' $(SERVE_DATABASE_URL)
	APP_ENV=development DATABASE_URL=$(SERVE_DATABASE_URL) $(MAKE) --no-print-directory seed
	rm -rf instance/prometheus && mkdir -p instance/prometheus
	export APP_ENV=production DATABASE_URL=$(SERVE_DATABASE_URL) \
	  PROMETHEUS_MULTIPROC_DIR=$(CURDIR)/instance/prometheus \
	  SECRET_KEY="$$(cat instance/secret_key)" PUBLIC_URL=http://127.0.0.1:$(SERVE_PORT) \
	  MAIL_URL=file://$(CURDIR)/instance/mail STORAGE_URL=file://$(CURDIR)/instance/storage \
	  WEB_BIND=127.0.0.1:$(SERVE_PORT) WEB_CONCURRENCY=2 \
	  PROCONNECT_ISSUER=http://127.0.0.1:9000 PROCONNECT_CLIENT_ID=compte-ressources \
	  PROCONNECT_CLIENT_SECRET=secret-de-demonstration; \
	POST_LOGOUT_REDIRECT_URIS=http://127.0.0.1:$(SERVE_PORT)/ node tests/peers/proconnect.mjs & \
	provider=$$!; $(BIN)/flask jobs work --schedule & worker=$$!; \
	trap "kill $$provider $$worker 2>/dev/null; wait" EXIT; \
	$(BIN)/gunicorn -c gunicorn.conf.py

# Backups of the PostgreSQL database named by DATABASE_URL (custom format, compressed):
# docs/deploy.md says when and how. pg_dump and pg_restore want a libpq URL, without
# SQLAlchemy's "+psycopg".
BACKUP_DIR ?= backups
LIBPQ_URL = $${DATABASE_URL/postgresql+psycopg:/postgresql:}

backup: ## Dump the database of DATABASE_URL into backups/<date>.dump
	@test -n "$$DATABASE_URL" || { echo "DATABASE_URL n'est pas défini." >&2; exit 2; }
	mkdir -p $(BACKUP_DIR)
	file=$(BACKUP_DIR)/$$(date -u +%Y-%m-%dT%H%M%SZ).dump; \
	pg_dump --format=custom --no-owner --file="$$file.partial" "$(LIBPQ_URL)" \
	  && mv "$$file.partial" "$$file" && echo "$$file"

restore: ## Restore FILE=backups/….dump into the database of DATABASE_URL (replaces its tables)
	@test -n "$$DATABASE_URL" || { echo "DATABASE_URL n'est pas défini." >&2; exit 2; }
	@test -f "$(FILE)" || { echo "FILE=… doit nommer une sauvegarde (backups/….dump)." >&2; exit 2; }
	pg_restore --clean --if-exists --no-owner --single-transaction --exit-on-error \
	  --dbname="$(LIBPQ_URL)" "$(FILE)"

lint: install ## ruff, ruff format --check, mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: install system-packages lint ## Lint, type-check, every test on PostgreSQL, then on SQLite
	$(BIN)/python -m pytest -n auto
	$(MAKE) --no-print-directory test-sqlite

test-sqlite: install ## The suite on the embedded default, SQLite (PostgreSQL-only tests skip)
	mkdir -p instance
	TEST_DATABASE_URL=sqlite:///$(CURDIR)/instance/test.sqlite $(BIN)/python -m pytest -n auto -q -m "not browser"

# axe-core and the Nu HTML Checker over a sample of pages of every role (tests/browser/test_accessibility_audit.py);
# the figures go to app/site/accessibility_audit.json, which the accessibility declaration shows.
accessibility-audit: install system-packages ## Audit the sample of pages (axe, HTML checker) into app/site/accessibility_audit.json
	UPDATE_ACCESSIBILITY_AUDIT=1 $(BIN)/python -m pytest -q tests/browser/test_accessibility_audit.py

format: install ## Format the code
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean: ## Remove the virtualenv, node_modules and generated files
	rm -rf $(VENV) node_modules $(STATIC_DSFR) instance/*.sqlite .pytest_cache .mypy_cache .ruff_cache
