"""The embedded default needs nothing of the scale-out stack."""

from __future__ import annotations

import subprocess
import sys

from .server import ROOT

_CHECK = """
import asyncio, sys
from app.config import Settings
from app.main import create_app

async def main():
    app = create_app(Settings(data_dir=sys.argv[1], device="cpu"))
    async with app.router.lifespan_context(app):
        pass

asyncio.run(main())
loaded = sorted(m for m in ("celery", "kombu", "redis", "psycopg", "psycopg2")
                if m in sys.modules)
print("loaded:", loaded)
sys.exit(1 if loaded else 0)
"""


def test_the_embedded_service_imports_no_celery_redis_or_postgres(tmp_path):
    r = subprocess.run([sys.executable, "-c", _CHECK, str(tmp_path / "data")], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "loaded: []" in r.stdout
