"""A long-lived helper process for short requests that need the library (and torch).

Routes must not run torch in the API process, and spawning a process per
request costs seconds; so one spawned helper serves inspections of uploaded
models and small synchronous sample requests, one at a time, and is started
again if it dies or stops answering.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import threading
from typing import Any

from ..config import Settings
from ..errors import InvalidInput, ServiceUnavailable

logger = logging.getLogger(__name__)
_SPAWN = mp.get_context("spawn")


class HelperProcess:
    def __init__(self, settings: Settings):
        self.settings = settings
        self._lock = threading.Lock()
        self._process: Any = None
        self._conn: Any = None

    def _start(self) -> None:
        from . import tools

        parent, child = _SPAWN.Pipe()
        self._process = _SPAWN.Process(target=tools.serve, name="helper", daemon=True,
                                       args=(child, self.settings.model_dump_json()))
        self._process.start()
        child.close()
        self._conn = parent

    def call(self, fn: str, *args: Any, timeout: float = 120.0) -> Any:
        """Run ``tools.<fn>(*args)`` in the helper; its refusals become 422s."""
        with self._lock:
            if self._process is None or not self._process.is_alive():
                self._start()
            try:
                self._conn.send((fn, args))
                if not self._conn.poll(timeout):
                    raise TimeoutError(fn)
                ok, value = self._conn.recv()
            except (OSError, EOFError, TimeoutError) as exc:
                logger.warning("helper process failed on %s (%r); restarting it", fn, exc)
                self.stop_locked()
                raise ServiceUnavailable("the sampling helper did not answer; try again",
                                         code="helper_unavailable") from exc
        if not ok:
            code, message = value
            raise InvalidInput(message, code=code)
        return value

    def stop_locked(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.join(timeout=5)
        self._process = self._conn = None

    def stop(self) -> None:
        with self._lock:
            self.stop_locked()


__all__ = ["HelperProcess"]
