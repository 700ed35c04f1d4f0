from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "ventanilla.identity"
    label = "identity"
    verbose_name = "Identity"

    def ready(self):
        from .oidc import subscribers  # noqa: F401  (registers the event subscribers)
