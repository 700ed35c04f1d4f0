from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "ventanilla.payments"
    label = "payments"
    verbose_name = "Payments"

    def ready(self):
        from . import plugins, subscribers, tasks  # noqa: F401  (registers subscribers and periodic tasks)

        plugins.load()
