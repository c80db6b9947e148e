from django.apps import AppConfig


class DimonaConfig(AppConfig):
    name = "apps.dimona"
    label = "dimona"
    verbose_name = "Dimona (ONSS)"

    def ready(self) -> None:
        from apps.core.demo import register_demo_loader
        from apps.core.operations import register_retry_policy
        from apps.core.platforms import register_platform
        from apps.dimona import operations, schedules  # noqa: F401 - schedules registers itself
        from apps.dimona.client import PLATFORM, dimona_platform
        from apps.dimona.demo import demo_load

        register_platform(PLATFORM, dimona_platform)
        register_retry_policy(PLATFORM, operations.DIMONA_RETRY)
        register_demo_loader("dimona", demo_load)
