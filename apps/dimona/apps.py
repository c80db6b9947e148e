from django.utils.translation import gettext_lazy as _

from apps.core.registry import DomainApp, DomainAppConfig


class DimonaConfig(DomainAppConfig):
    name = "apps.dimona"
    label = "dimona"
    verbose_name = _("Dimona (ONSS)")

    def domain(self) -> DomainApp:
        from apps.dimona.client import PLATFORM, dimona_platform
        from apps.dimona.dashboard import todays_shifts_panel
        from apps.dimona.demo import demo_load
        from apps.dimona.operations import DIMONA_RETRY
        from apps.dimona.schedules import SCHEDULES
        from apps.dimona.services import DECLARATION_OPERATION

        return DomainApp(
            label=self.label,
            verbose_name=self.verbose_name,
            platforms={PLATFORM: dimona_platform},
            retry_policies={PLATFORM: DIMONA_RETRY},
            handler_modules=("apps.dimona.operations",),
            operation_kinds=(DECLARATION_OPERATION,),
            schedules=SCHEDULES,
            demo_loader=demo_load,
            dashboard_panels=(todays_shifts_panel,),
        )
