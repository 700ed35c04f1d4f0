from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "ventanilla.core"
    label = "core"
    verbose_name = "Core"

    def ready(self):
        from . import tasks  # noqa: F401  (registers the periodic tasks)
