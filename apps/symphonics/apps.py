from django.utils.translation import gettext_lazy as _

from apps.core.registry import DomainApp, DomainAppConfig


class SymphonicsConfig(DomainAppConfig):
    name = "apps.symphonics"
    label = "symphonics"
    verbose_name = _("Symphonics")

    def domain(self) -> DomainApp:
        from apps.symphonics.client import PLATFORM, symphonics_platform
        from apps.symphonics.dashboard import publications_panel
        from apps.symphonics.demo import demo_load
        from apps.symphonics.operations import SYMPHONICS_RETRY
        from apps.symphonics.schedules import SCHEDULES
        from apps.symphonics.services import DOCUMENTS_OPERATION, PUBLISH_OPERATION

        return DomainApp(
            label=self.label,
            verbose_name=self.verbose_name,
            platforms={PLATFORM: symphonics_platform},
            retry_policies={PLATFORM: SYMPHONICS_RETRY},
            handler_modules=("apps.symphonics.operations", "apps.symphonics.webhooks"),
            operation_kinds=(PUBLISH_OPERATION, DOCUMENTS_OPERATION),
            webhook_platforms=(PLATFORM,),
            schedules=SCHEDULES,
            demo_loader=demo_load,
            dashboard_panels=(publications_panel,),
        )
