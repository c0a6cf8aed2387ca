"""Flask extensions, created unbound and initialised in `create_app()`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask_babel import Babel
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect

from app.core.db import Base
from app.core.limits import network_address

db = SQLAlchemy(model_class=Base)
# The base class of every model. Flask-SQLAlchemy builds `db.Model` from `Base` at
# run time; type checkers are told it is `Base`, which it extends.
if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model
migrate = Migrate(compare_type=True, render_as_batch=True)
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=network_address, default_limits=[])
api = Api()
