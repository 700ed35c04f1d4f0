"""A double-clicked or retried submission makes exactly one case — over real HTTP, requests arriving at once on a
real server (see live.py for why not pytest-django's live server)."""

import threading
import uuid

import pytest

from .live import ANSWERS, SERVICE, Browser, LiveServer, form_fields

# Starts real server processes (the marker's meaning); runs in the default run all the same.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server():
    live = LiveServer().start()
    yield live
    live.close()


def at_once(count: int, call) -> list:
    """Runs `call()` in `count` threads released together; returns their results."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(index: int):
        barrier.wait()
        results[index] = call()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def my_references(server) -> list[str]:
    status, page = server.api("GET", "/api/v1/applications?page_size=100")
    assert status == 200
    return [item["reference"] for item in page["items"]]


def test_the_same_submission_sent_eight_times_at_once_makes_one_case(server):
    before = set(my_references(server))
    key = str(uuid.uuid4())
    body = {"service": SERVICE, "answers": ANSWERS, "submit": True}

    answers = at_once(8, lambda: server.api("POST", "/api/v1/applications", body, **{"Idempotency-Key": key}))

    assert {status for status, _ in answers} <= {200, 201}, answers
    references = {case["reference"] for _, case in answers}
    assert len(references) == 1
    assert {case["stage"] for _, case in answers} == {"open"}
    created = set(my_references(server)) - before
    assert created == references


def test_the_check_answers_page_posted_twice_at_once_sends_one_case(server):
    status, draft = server.api("POST", "/api/v1/applications", {"service": SERVICE, "answers": ANSWERS})
    assert status == 201 and draft["stage"] == "draft"
    reference = draft["reference"]
    browser = Browser(server)
    browser.sign_in()
    check = f"/solicitudes/{reference}/revisar/"
    status, _, page = browser.request("GET", check)
    assert status == 200, f"the check-answers page: {status}"
    fields = form_fields(page, check, tick_every_box=True)

    answers = at_once(2, lambda: browser.request("POST", check, fields))

    assert all(status in (200, 302, 303) for status, _, _ in answers), [status for status, _, _ in answers]
    status, case = server.api("GET", f"/api/v1/applications/{reference}")
    assert case["stage"] == "open"
    assert [event["kind"] for event in case["history"]].count("submitted") == 1
    assert my_references(server).count(reference) == 1
