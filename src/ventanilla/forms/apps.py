from django.apps import AppConfig


class FormsConfig(AppConfig):
    name = "ventanilla.forms"
    label = "forms"
    verbose_name = "Forms"
