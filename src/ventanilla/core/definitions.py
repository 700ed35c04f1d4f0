"""What is wrong with a definition an institution wrote (a service, a form, a workflow), said so that the
author can find the line and fix it."""

from dataclasses import dataclass


@dataclass(frozen=True)
class DefinitionError:
    path: str  # where in the document, e.g. "form.pages[2].fields[0].requirement"
    message: str  # a sentence for the author, in the active language

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message
