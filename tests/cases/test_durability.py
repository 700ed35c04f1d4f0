"""Killing the server with SIGKILL in the middle of a submission load loses no submission it acknowledged: an
application is acknowledged only once it is committed."""

import http.client
import json
import threading
import time
import uuid

import pytest

from .live import ANSWERS, SERVICE, LiveServer

# Starts real server processes (the marker's meaning); runs in the default run all the same.
pytestmark = pytest.mark.slow

CLIENTS = 4
LOAD_SECONDS = 1.5


def test_no_acknowledged_submission_is_lost_when_the_server_is_killed():
    server = LiveServer()
    try:
        server.start()
        acknowledged: list[str] = []
        in_flight_at_kill: list[int] = []
        refused: list[tuple] = []
        lock = threading.Lock()
        stop = threading.Event()

        def submit_until_killed():
            while not stop.is_set():
                body = {"service": SERVICE, "answers": ANSWERS, "submit": True}
                try:
                    status, case = server.api(
                        "POST", "/api/v1/applications", body, **{"Idempotency-Key": str(uuid.uuid4())}
                    )
                except (OSError, http.client.HTTPException, json.JSONDecodeError):
                    # The connection died with the server, even mid-answer: this submission was never acknowledged.
                    with lock:
                        in_flight_at_kill.append(1)
                    return
                with lock:
                    if status == 201:
                        acknowledged.append(case["reference"])
                    else:
                        refused.append((status, case))

        clients = [threading.Thread(target=submit_until_killed) for _ in range(CLIENTS)]
        for client in clients:
            client.start()
        time.sleep(LOAD_SECONDS)
        server.kill()
        stop.set()
        for client in clients:
            client.join(timeout=30)

        assert not refused, refused[:3]
        assert len(acknowledged) > 10, "the load reached the server before it was killed"

        server.start()
        stored = set(
            json.loads(
                server.run_python(
                    "import json; from ventanilla.cases.models import Case; "
                    "print(json.dumps(list(Case.objects.filter(stage='open').values_list('reference', flat=True))))"
                ).splitlines()[-1]
            )
        )
        lost = set(acknowledged) - stored
        assert not lost, f"{len(lost)} of {len(acknowledged)} acknowledged submissions were lost"
        # Every acknowledged one is there and sent; the server still answers about them after the restart.
        status, case = server.api("GET", f"/api/v1/applications/{acknowledged[-1]}")
        assert status == 200 and case["stage"] == "open" and case["state"] == "received"
        print(
            f"\n{len(acknowledged)} acknowledged, all stored; {len(in_flight_at_kill)} in flight when killed; "
            f"{len(stored) - len(acknowledged)} committed but not acknowledged"
        )
    finally:
        server.close()
