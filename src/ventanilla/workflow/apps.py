from django.apps import AppConfig


class WorkflowConfig(AppConfig):
    name = "ventanilla.workflow"
    label = "workflow"
    verbose_name = "Workflow"
