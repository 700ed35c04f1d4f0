"""The digitalisation level a service definition actually delivers, to set beside the level the catalogue
declares (1 information, 2 forms to download, 3 online form with a step in person, 4 online end to end and
tracked, 5 proactive: nothing to ask but a declaration)."""

from .definitions import Definition


def computed_level(definition: Definition) -> int:
    if definition.document.get("in_person"):
        return 3
    asks_something = any(
        field.type != "declaration" for page in definition.form.pages for field in page.fields
    )
    return 4 if asks_something else 5
