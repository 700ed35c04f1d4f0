"""Public reference numbers (cases, reports, receipts): random, so they reveal nothing about volumes, and made
of characters nobody confuses when reading them out to the 311 line (no 0/O, 1/I/L)."""

import re
import secrets

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def new_reference(prefix: str, length: int = 8) -> str:
    return f"{prefix}-" + "".join(secrets.choice(ALPHABET) for _ in range(length))


def normalize(text: str, prefix: str) -> str:
    """What a person typed or read out, as stored: upper case, no spaces, one hyphen after the prefix."""
    compact = re.sub(r"[\s-]+", "", text or "").upper()
    if compact.startswith(prefix):
        compact = compact[len(prefix) :]
    return f"{prefix}-{compact}"
