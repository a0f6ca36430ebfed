"""One embedded service per data directory: an exclusive lock held for the service's life.

The embedded service runs its jobs itself, so two of them on one data
directory would both take its jobs over (each start releases the jobs that
the last life of this node left running). The lock, ``flock`` on
``<data_dir>/service.lock``, is taken before the database is opened; a second
service is refused with the first one's pid. The kernel drops the lock when
its process ends, however it ends, so a crashed service never blocks the next.

The lock file also keeps the data directory's node id: the prefix of every
job lease that this directory's service hands out, in any of its lives. At
start the service releases the jobs leased under its node id (their runners
died with its last life) and leaves other nodes' live leases alone.
"""

from __future__ import annotations

import errno
import fcntl
import os
import threading
import time
import uuid
from pathlib import Path

LOCK_FILE = "service.lock"


class DataDirInUse(RuntimeError):
    """Another live service holds the data directory."""

    def __init__(self, path: Path, pid: int | None):
        self.path, self.pid = path, pid
        who = f"pid {pid}" if pid else "pid unknown"
        super().__init__(f"another deepclsmote service ({who}) is using {path}: stop it, or "
                         f"pass --data-dir")


class DataDirLock:
    """The exclusive lock of one data directory; :func:`hold` takes it."""

    def __init__(self, data_dir: Path):
        self.path = Path(data_dir).resolve()
        self.node = ""
        self._fd: int | None = None
        self._holders = 0

    def _acquire(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)  # not inherited
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
            raise DataDirInUse(self.path, _holder_pid(self.path / LOCK_FILE)) from None
        _, node = _read(fd)
        self.node = node or uuid.uuid4().hex[:12]
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n{self.node}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        """Give back one hold; the lock goes with the last."""
        with _LOCK:
            self._holders -= 1
            if self._holders > 0 or self._fd is None:
                return
            os.ftruncate(self._fd, 0)
            os.pwrite(self._fd, f"\n{self.node}\n".encode(), 0)  # keep the node id
            os.close(self._fd)  # unlocks
            self._fd = None
            _HELD.pop(self.path, None)


_LOCK = threading.Lock()
_HELD: dict[Path, DataDirLock] = {}


def hold(data_dir: Path) -> DataDirLock:
    """Take the data directory's lock, or raise :class:`DataDirInUse`.

    Within one process the lock is shared: ``deepclsmote serve`` takes it
    before it binds its port, and the application it starts takes it again.
    Each hold is given back with :meth:`DataDirLock.release`.
    """
    path = Path(data_dir).resolve()
    with _LOCK:
        lock = _HELD.get(path)
        if lock is None:
            lock = DataDirLock(path)
            lock._acquire()
            _HELD[path] = lock
        lock._holders += 1
        return lock


def _read(fd: int) -> tuple[int | None, str]:
    """``(pid, node id)`` written in the lock file; either may be missing."""
    lines = os.pread(fd, 256, 0).decode(errors="replace").splitlines() + ["", ""]
    pid = int(lines[0]) if lines[0].strip().isdigit() else None
    node = lines[1].strip() if all(c in "0123456789abcdef" for c in lines[1].strip()) else ""
    return pid, node


def _holder_pid(path: Path) -> int | None:
    """The pid the holder wrote (it writes it just after locking: wait a moment for it)."""
    for _ in range(20):
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            return None
        try:
            pid, _ = _read(fd)
        finally:
            os.close(fd)
        if pid is not None:
            return pid
        time.sleep(0.05)
    return None


__all__ = ["DataDirInUse", "DataDirLock", "LOCK_FILE", "hold"]
