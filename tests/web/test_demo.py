"""`ventanilla demo`: the README's demo people reach the levels it promises, and running it twice is harmless."""

import io
import time

import pyotp
from django.core.management import call_command

from ventanilla.identity.models import AccountSession, RelyingParty, Representation, User


def run_demo() -> str:
    out = io.StringIO()
    call_command("demo", stdout=out)
    return out.getvalue()


def test_demo_people_sign_in_at_their_levels(client, small_catalogue):
    printed = run_demo()
    again = run_demo()
    assert User.objects.filter(username__startswith="8-100-").count() == 4
    assert RelyingParty.objects.filter(client_id="demo-rp").count() == 1
    assert Representation.objects.get().status == "confirmed"
    key = next(line for line in again.splitlines() if line.startswith("8-100-103")).split()[-1]
    assert key in printed  # the same authenticator key on every run

    signed_in = client.post("/en/entrar/", {"identifier": "8-100-103", "password": "demo-ventanilla-2026"})
    assert "/verificacion-adicional/" in signed_in["Location"]
    # The demo spent the current code setting the app up; the next one is accepted (one step of tolerance).
    step_up = client.post(signed_in["Location"], {"code": pyotp.TOTP(key).at(time.time() + 30)})
    assert step_up.status_code == 302
    assert AccountSession.objects.get(user__username="8-100-103", ended_at=None).level == "high"
