"""Flask extensions, created unbound and initialised in the application factory."""

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.orm import DeclarativeBase

from .replicas import RoutingSession


class Base(DeclarativeBase):
    """Declarative base shared by every model."""


# Reads of read-only views may go to a replica (DATABASE_REPLICA_URLS): see replicas.py.
db = SQLAlchemy(model_class=Base, session_options={"class_": RoutingSession})
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
# Storage comes from RATELIMIT_STORAGE_URI (memory by default, Redis when REDIS_URL is set).
# A Redis that stops answering (a partition, a paused server) must cost a limited request
# half a second, not hang the worker: redis-py waits forever by default. After a failure the
# limiter counts in the process's memory (RATELIMIT_IN_MEMORY_FALLBACK_ENABLED) and goes back
# to Redis by itself once it answers again (it checks with a back-off of 1 to 32 s).
limiter = Limiter(key_func=get_remote_address,
                  storage_options={"socket_timeout": 0.5, "socket_connect_timeout": 0.5})
