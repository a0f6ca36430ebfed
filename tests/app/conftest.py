"""Service tests start the real service (uvicorn on a free loopback port)."""

from __future__ import annotations

import contextlib
import os
import uuid

import pytest

from .server import LiveServer


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One open-mode service for a module's tests (they share its datasets and jobs)."""
    srv = LiveServer(tmp_path_factory.mktemp("service")).start()
    yield srv
    srv.stop()


@pytest.fixture
def make_server(tmp_path):
    """A factory of services with their own data folder, stopped after the test."""
    started: list[LiveServer] = []

    def make(data_dir=None, **settings) -> LiveServer:
        srv = LiveServer(data_dir or tmp_path / f"svc{len(started)}", **settings)
        started.append(srv)
        return srv

    yield make
    for srv in started:
        srv.stop()


PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
REDIS = "redis://127.0.0.1:6379"


def _unreachable(what: str) -> None:
    """Skip where the machine lacks the server; fail in CI, which must provide it."""
    if os.environ.get("CI"):
        pytest.fail(f"{what} is not reachable; .ci/run starts it", pytrace=False)
    pytest.skip(f"{what} is not reachable (scale-out tests need it)")


@contextlib.contextmanager
def pg_database():
    """A fresh, empty PostgreSQL database, dropped afterwards."""
    import sqlalchemy as sa

    name = f"deepclsmote_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - any failure to connect means: not here
        _unreachable(f"PostgreSQL at 127.0.0.1:5432 ({type(exc).__name__})")
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextlib.contextmanager
def redis_database():
    """A Redis database number of its own (emptied before and after)."""
    import redis

    try:
        redis.Redis.from_url(f"{REDIS}/0").ping()
    except redis.RedisError as exc:
        _unreachable(f"Redis at 127.0.0.1:6379 ({type(exc).__name__})")
    url = f"{REDIS}/{1 + os.getpid() % 14}"
    redis.Redis.from_url(url).flushdb()
    try:
        yield url
    finally:
        try:
            redis.Redis.from_url(url).flushdb()
        except redis.RedisError:
            pass


AMQP = "amqp://guest:guest@127.0.0.1:5672//"


@pytest.fixture
def amqp_url():
    """The machine's RabbitMQ (each cluster of a test declares a queue of its own)."""
    import kombu

    try:
        with kombu.Connection(AMQP, connect_timeout=3) as conn:
            conn.ensure_connection(max_retries=1)
    except Exception as exc:  # noqa: BLE001 - any failure to connect means: not here
        _unreachable(f"RabbitMQ at 127.0.0.1:5672 ({type(exc).__name__})")
    return AMQP


@pytest.fixture
def postgres_url():
    with pg_database() as url:
        yield url


@pytest.fixture
def redis_url():
    with redis_database() as url:
        yield url
