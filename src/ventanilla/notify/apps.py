from django.apps import AppConfig
from django.db.models.signals import post_migrate


class NotifyConfig(AppConfig):
    name = "ventanilla.notify"
    label = "notify"
    verbose_name = "Notifications"

    def ready(self):
        from . import plugins, subscribers, tasks  # noqa: F401  (registers event subscribers and periodic tasks)

        plugins.load()
        from .services import load_platform_templates

        # The platform's own templates follow data/templates.yaml at every migrate (a new version when changed).
        post_migrate.connect(lambda sender, **kwargs: load_platform_templates(), sender=self, weak=False)
