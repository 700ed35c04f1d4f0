"""Signed HTTP callbacks: the one scheme the platform and its sandbox providers use when one tells another that
something happened (a delivery receipt, a payment notification, an institution's callback).

The body is signed with a shared secret and the time it was sent: the signature header carries
"sha256=" + hex HMAC-SHA256(secret, timestamp + "." + body), the timestamp header the Unix seconds. A receiver
refuses a wrong signature, and one older (or newer) than five minutes, so a captured callback cannot be replayed
later. Standard library only: the sandbox providers run it as processes of their own."""

import hashlib
import hmac
import time
import urllib.request

MAX_AGE_SECONDS = 300
RETRY_DELAYS = (1, 2, 4, 8, 16)


class BadSignature(ValueError):
    pass


def signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def signed_headers(secret: str, body: bytes, *, timestamp_header: str, signature_header: str) -> dict:
    timestamp = str(int(time.time()))
    return {
        "Content-Type": "application/json",
        timestamp_header: timestamp,
        signature_header: signature(secret, timestamp, body),
    }


def check(secret: str, body: bytes, headers, *, timestamp_header: str, signature_header: str) -> None:
    """Raises BadSignature unless the body was signed with `secret` within the last five minutes."""
    timestamp = headers.get(timestamp_header, "")
    if not hmac.compare_digest(headers.get(signature_header, ""), signature(secret, timestamp, body)):
        raise BadSignature("The signature does not match.")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > MAX_AGE_SECONDS:
        raise BadSignature("The callback is too old or from the future.")


def post_until_taken(
    url: str, body: bytes, secret: str, *, timestamp_header: str, signature_header: str
) -> bool:
    """POST a signed callback; one not acknowledged with 2xx is sent again after 1, 2, 4, 8 and 16 seconds (newly
    signed each time, the same body). Returns whether it was taken. For processes that may sleep: the platform
    itself retries through its task queue instead."""
    for delay in (*RETRY_DELAYS, None):
        request = urllib.request.Request(  # noqa: S310 (a configured http URL)
            url,
            data=body,
            method="POST",
            headers=signed_headers(
                secret, body, timestamp_header=timestamp_header, signature_header=signature_header
            ),
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
                if 200 <= answer.status < 300:
                    return True
        except OSError:
            pass
        if delay is None:
            return False
        time.sleep(delay)
    return False
