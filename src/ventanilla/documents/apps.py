from django.apps import AppConfig


class DocumentsConfig(AppConfig):
    name = "ventanilla.documents"
    label = "documents"
    verbose_name = "Documents"

    def ready(self):
        from . import plugins, subscribers  # noqa: F401  (registers the subscribers)

        plugins.load()
