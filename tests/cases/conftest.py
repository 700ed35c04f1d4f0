import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def messages_in_english():
    """The engine's messages are checked in English (pages choose their language by URL, as people do)."""
    with translation.override("en"):
        yield
