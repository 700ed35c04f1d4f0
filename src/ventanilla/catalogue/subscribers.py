from django.conf import settings

from ventanilla.core.events import subscriber

from . import opendata
from .selectors import open_data_directory
from .services import PROCEDURE_CHANGED


@subscriber(PROCEDURE_CHANGED)
def refresh_open_data(event) -> None:
    """Regenerate the open data files so downloads always show the published catalogue."""
    opendata.snapshot(open_data_directory(), base_url=settings.VENTANILLA_PUBLIC_URL)
