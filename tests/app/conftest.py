"""Service tests start the real service (uvicorn on a free loopback port)."""

from __future__ import annotations

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
