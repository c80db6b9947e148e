from django.apps import AppConfig


class DimonaConfig(AppConfig):
    name = "apps.dimona"
    label = "dimona"
    verbose_name = "Dimona (ONSS)"
