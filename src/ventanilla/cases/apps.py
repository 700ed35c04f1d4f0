from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "ventanilla.cases"
    label = "cases"
    verbose_name = "Online services and cases"

    def ready(self):
        from . import subscribers, tasks  # noqa: F401  (registers event subscribers and periodic tasks)
