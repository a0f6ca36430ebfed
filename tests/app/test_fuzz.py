"""API fuzzing with Schemathesis against the live service's own OpenAPI schema.

Every check runs (Schemathesis 4's default; a ``--checks`` option would
override the per-operation settings of schemathesis.toml).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from .server import LiveServer

CONFIG = Path(__file__).with_name("schemathesis.toml")


def test_schemathesis_finds_no_server_error_or_undocumented_answer(tmp_path):
    st = shutil.which("schemathesis") or str(Path(sys.executable).with_name("schemathesis"))
    srv = LiveServer(tmp_path / "svc", api_keys="fuzz:fuzz-key", rate_limit="0",
                     max_upload_bytes="2000000").start()
    try:
        r = subprocess.run(
            [st, "--config-file", str(CONFIG), "run", f"{srv.url}/openapi.json",
             "-H", "X-API-Key: fuzz-key", "--max-examples", "15",
             "--seed", "1", "--request-timeout", "60", "--generation-database", "none",
             "--phases", "examples,coverage,fuzzing,stateful", "--no-color"],
            capture_output=True, text=True, timeout=900)
    finally:
        srv.stop()
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-2000:]
    assert "Server error" not in r.stdout
