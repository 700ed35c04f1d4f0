"""Leaving the platform after one of its forms (to a service signed in with us, to a payment provider's page).

Browsers apply a form's Content-Security-Policy form-action to every redirect that follows the form's submission,
and ours allows only this site: so instead of a redirect, a short page moves on by itself (a Refresh header, no
script) with a button in case it does not."""

from django.shortcuts import render


def continue_to(request, url: str, *, title: str, lead: str, button: str):
    page = render(request, "web/continue.html", {"url": url, "title": title, "lead": lead, "button": button})
    page["Refresh"] = f"0;url={url}"
    return page
