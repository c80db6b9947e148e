from django.apps import AppConfig


class SymphonicsConfig(AppConfig):
    name = "apps.symphonics"
    label = "symphonics"
    verbose_name = "Symphonics"

    def ready(self) -> None:
        from apps.core.demo import register_demo_loader
        from apps.core.operations import register_retry_policy
        from apps.core.platforms import register_platform
        from apps.symphonics import operations, schedules, webhooks  # noqa: F401 - they register
        from apps.symphonics.client import PLATFORM, symphonics_platform
        from apps.symphonics.demo import demo_load

        register_platform(PLATFORM, symphonics_platform)
        register_retry_policy(PLATFORM, operations.SYMPHONICS_RETRY)
        register_demo_loader("symphonics", demo_load)
