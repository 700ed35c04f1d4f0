"""Shared steps of the account tests: signing in through the page, following links sent by email."""

import re

import pyotp
from django.test import Client

from tests.conftest import PASSWORD
from ventanilla.identity.models import AccountSession


def sign_in(user, *, client: Client | None = None, password: str = PASSWORD, **headers) -> Client:
    """A browser signed in as `user` through the sign-in page (so it has an AccountSession)."""
    client = client or Client(**headers)
    response = client.post("/entrar/", {"identifier": user.username, "password": password})
    assert response.status_code == 302, "the right password signs in"
    return client


def sign_in_with_second_factor(user, *, client: Client | None = None) -> Client:
    """A browser signed in at level substantial: password, then the code of `make_citizen`'s app."""
    client = sign_in(user, client=client)
    code = pyotp.TOTP(user.totp_secret).now()
    response = client.post("/verificacion-adicional/?level=substantial&next=/", {"code": code})
    assert response.status_code == 302, "the app's code raises the session"
    return client


def session_of(client: Client) -> AccountSession:
    return AccountSession.objects.get(session_key=client.session.session_key)


def link_in(message, path_start: str) -> str:
    """The path of the link in an email that starts with `path_start` (e.g. "/verificar-correo/")."""
    found = re.search(r"https?://[^/\s]+(" + re.escape(path_start) + r"\S+/)", message.body)
    assert found, f"no {path_start} link in: {message.body}"
    return found.group(1)
