"""Where a real-world provider varies (SMS gateways, payment gateways), an app keeps a Registry of plugins:
one class per provider, registered under a name, chosen by a setting. A real provider is one more module."""

from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, kind: str):
        self.kind = kind
        self._plugins: dict[str, type[T]] = {}

    def register(self, name: str) -> Callable[[type[T]], type[T]]:
        def add(plugin: type[T]) -> type[T]:
            if name in self._plugins:
                raise ValueError(f"Two {self.kind} plugins are named {name!r}.")
            plugin.name = name
            self._plugins[name] = plugin
            return plugin

        return add

    def get(self, name: str) -> T:
        try:
            return self._plugins[name]()
        except KeyError:
            known = ", ".join(sorted(self._plugins)) or "none"
            raise LookupError(f"No {self.kind} plugin named {name!r} (known: {known}).") from None

    def names(self) -> list[str]:
        return sorted(self._plugins)
