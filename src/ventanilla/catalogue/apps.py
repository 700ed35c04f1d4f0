from django.apps import AppConfig


class CatalogueConfig(AppConfig):
    name = "ventanilla.catalogue"
    label = "catalogue"
    verbose_name = "Catalogue"

    def ready(self):
        from . import subscribers  # noqa: F401  (registers event subscribers)
