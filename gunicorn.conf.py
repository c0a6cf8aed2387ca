"""gunicorn, the production web server: `gunicorn -c gunicorn.conf.py` (from this folder).

Every setting comes from the environment (README, "Production"); the application is the
factory `app:create_app()`, configured by `APP_ENV` and the variables of config.py.
"""

from __future__ import annotations

import multiprocessing
import os

import gunicorn.http.wsgi


def _number(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


wsgi_app = "app:create_app()"
bind = os.environ.get("WEB_BIND", "127.0.0.1:8000").split(",")
# Processes, each with its threads: workers × threads requests at once, and as many
# database connections at most (SQLAlchemy's pool is per process).
workers = _number("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1)
threads = _number("WEB_THREADS", 2)
# A request running longer than this gets its worker killed and restarted.
timeout = _number("WEB_TIMEOUT", 30)
# On SIGTERM (deploy, restart), what is running may finish for this long.
graceful_timeout = _number("WEB_GRACEFUL_TIMEOUT", 30)
# Idle keep-alive connections from the reverse proxy are kept this long (seconds).
keepalive = _number("WEB_KEEPALIVE", 5)
# The reverse proxies whose X-Forwarded-Proto is believed (the client address itself is
# ProxyFix's business, in the app). Comma-separated addresses, or "*".
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# gunicorn's access log is off by default ("-": stdout): the app logs its requests.
accesslog = os.environ.get("WEB_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("WEB_LOG_LEVEL", "info")
proc_name = "compte-ressources"
# No control socket (gunicornc): the supervisor (systemd) starts, stops and reloads, and two
# instances on one machine would fight over its one default path.
control_socket_disable = True

# The Server header names no software and no version.
gunicorn.http.wsgi.SERVER = "compte-ressources"


def child_exit(_server: object, worker: object) -> None:
    """With PROMETHEUS_MULTIPROC_DIR (/metrics adds up every process's counters), forget
    the figures of a worker that has stopped."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[attr-defined]
