from django.apps import AppConfig


class RestosyncConfig(AppConfig):
    name = "apps.restosync"
    label = "restosync"
    verbose_name = "Restaurant sync"
