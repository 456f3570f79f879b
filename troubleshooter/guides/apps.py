from django.apps import AppConfig


class GuidesConfig(AppConfig):
    name = "troubleshooter.guides"
    label = "guides"
    verbose_name = "Guides"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the guide check)
