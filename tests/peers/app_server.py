"""One instance of the application in a process of its own, on a free port of 127.0.0.1,
for the tests that need several side by side (rate limits shared through Redis):

    python -m tests.peers.app_server DATABASE_URL [SETTING=VALUE ...]

Prints its port once it listens, then serves until it is stopped.
"""

from __future__ import annotations

import sys

from werkzeug.serving import make_server

from app import create_app


def main(database_url: str, *settings: str) -> None:
    overrides = dict(setting.split("=", 1) for setting in settings)
    app = create_app("test", SQLALCHEMY_DATABASE_URI=database_url, **overrides)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    print(server.server_port, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(*sys.argv[1:])
