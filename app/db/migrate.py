"""Schema migrations with Alembic: ``deepclsmote db upgrade``, and at start for SQLite."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

_SCRIPTS = Path(__file__).with_name("migrations")


def _config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_SCRIPTS))
    return cfg


def head() -> str | None:
    return ScriptDirectory(str(_SCRIPTS)).get_current_head()


def current(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database's schema to ``revision``."""
    cfg = _config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def ensure_schema(engine: Engine) -> None:
    """SQLite (the embedded default) migrates itself; a shared database must be migrated
    explicitly, once, by ``deepclsmote db upgrade`` (not by every API node at once)."""
    if engine.dialect.name == "sqlite":
        upgrade(engine)
        return
    have, want = current(engine), head()
    if have != want:
        raise RuntimeError(f"the database's schema is at {have or 'nothing'}, the service needs "
                           f"{want}: run `deepclsmote db upgrade` first")


__all__ = ["current", "ensure_schema", "head", "upgrade"]
