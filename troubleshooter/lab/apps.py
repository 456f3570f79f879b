from django.apps import AppConfig


class LabConfig(AppConfig):
    name = "troubleshooter.lab"
    label = "lab"
    verbose_name = "Lab"
