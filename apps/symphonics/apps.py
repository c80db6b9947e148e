from django.apps import AppConfig


class SymphonicsConfig(AppConfig):
    name = "apps.symphonics"
    label = "symphonics"
    verbose_name = "Symphonics"
