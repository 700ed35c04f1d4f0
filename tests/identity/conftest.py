"""Identity tests read the English pages. People at each level come from tests/conftest.py (make_citizen)."""

import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def english_pages():
    """Tests read the English pages (reverse() gives /en/… paths); the Spanish ones are checked for complete
    translations in tests/web/test_translations.py."""
    with translation.override("en"):
        yield
