"""The README's first command, as a newcomer runs it: `ventanilla serve` on a fresh, empty folder."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (our own local server)
        return response.read().decode()


@pytest.mark.slow
def test_serve_migrates_loads_reference_data_and_serves_pages_api_and_a_worker(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    env.update(VENTANILLA_VAR_DIR=str(tmp_path), VENTANILLA_CATALOGUE_SIZE="600")
    server = subprocess.Popen(
        [sys.executable, "-m", "ventanilla.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240
        while True:
            try:
                assert fetch(f"{base}/healthz").startswith('{"status": "ok"')
                break
            except OSError:
                assert server.poll() is None, server.stdout.read()
                assert time.monotonic() < deadline, "the server did not start in time"
                time.sleep(0.5)
        assert (tmp_path / "ventanilla.sqlite3").exists()
        assert json.loads(fetch(f"{base}/api/v1/procedures?page_size=1"))["total"] >= 600
        assert "Pasaporte" in fetch(f"{base}/tramites/?q=pasaporte")
        assert 'lang="en"' in fetch(f"{base}/en/")
        # The worker beside the server handles the event the first start emitted: open data files appear.
        deadline = time.monotonic() + 60
        while not (tmp_path / "media" / "opendata" / "catalogue.ttl").exists():
            assert time.monotonic() < deadline, "the background worker did not run"
            time.sleep(0.5)
    finally:
        server.terminate()
        server.wait(timeout=20)
