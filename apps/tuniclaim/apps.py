from django.apps import AppConfig


class TuniclaimConfig(AppConfig):
    name = "apps.tuniclaim"
    label = "tuniclaim"
    verbose_name = "MY TUNICLAIM"
