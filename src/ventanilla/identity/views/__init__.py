"""Identity pages: registration, sign-in and sign-out, password reset (auth), the signed-in person's account
with profile, sessions, history and consents (account), acting for others (acting), second factors and step-up
(factors), the officials' pages (officials). Thin: forms check input, services write, selectors read. Here: what
they share."""

import math

from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import ngettext

from .. import authn

SENT_TO = "identity.sent_to"  # the address a confirmation page names, kept in the session across the redirect


def safe_next(request, default: str = "identity:account") -> str:
    """Where to go after signing in: a local address given as ?next= (or in the form), else the account."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse(default)


def wait_message(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return ngettext(
        "There have been too many attempts. Wait %(minutes)s minute and try again.",
        "There have been too many attempts. Wait %(minutes)s minutes and try again.",
        minutes,
    ) % {"minutes": minutes}


# Pages of the account: only for a signed-in session (else to the sign-in page, then back here).
signed_in = authn.required()
