"""Keyset paging for API lists and long pages: newest first on (created_at, id), with an opaque cursor. Unlike
offsets, a page stays right while rows are added, and a late page costs what the first does."""

import base64
import binascii
import uuid
from datetime import datetime

from django.db.models import Q


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
