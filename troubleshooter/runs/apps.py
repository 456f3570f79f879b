from django.apps import AppConfig


class RunsConfig(AppConfig):
    name = "troubleshooter.runs"
    label = "runs"
    verbose_name = "Experiments"
