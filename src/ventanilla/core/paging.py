"""Keyset paging for API lists and long pages: newest first on (created_at, id), with an opaque cursor. Unlike
offsets, a page stays right while rows are added, and a late page costs what the first does."""

import base64
import binascii
import uuid
from collections.abc import Callable
from datetime import datetime

from django.db.models import Q
from django.http import JsonResponse
from django.utils.translation import gettext as _


def page_after(rows, *, after: str = "", size: int) -> tuple[list, str | None]:
    """One page of `rows` (a queryset ordered newest first by created_at then id) after a cursor this function
    gave, and the cursor of the next page (None on the last). Raises ValueError for a cursor it did not give."""
    if after:
        try:
            at, _separator, row_id = (
                base64.urlsafe_b64decode(after + "=" * (-len(after) % 4)).decode().partition("|")
            )
            rows = rows.filter(
                Q(created_at__lt=datetime.fromisoformat(at))
                | Q(created_at=datetime.fromisoformat(at), id__lt=uuid.UUID(row_id))
            )
        except (ValueError, UnicodeDecodeError, binascii.Error) as error:
            raise ValueError(after) from error
    found = list(rows.order_by("-created_at", "-id")[: size + 1])
    if len(found) <= size:
        return found, None
    last = found[size - 1]
    cursor = base64.urlsafe_b64encode(f"{last.created_at.isoformat()}|{last.id}".encode()).decode()
    return found[:size], cursor.rstrip("=")


def api_page(rows, *, after: str, size: int, render: Callable) -> dict | JsonResponse:
    """One page of an API list, `{"items": [render(row)…], "next": cursor}`, or, for a cursor this API did not
    give, a 422 that says what to send instead."""
    try:
        found, following = page_after(rows, after=after or "", size=size)
    except ValueError:
        message = _("This is not a cursor this API gave: pass the `next` value of the previous page.")
        return JsonResponse(
            {"detail": message, "errors": [{"field": "after", "message": message}]}, status=422
        )
    return {"items": [render(row) for row in found], "next": following}
