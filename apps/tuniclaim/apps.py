from django.utils.translation import gettext_lazy as _

from apps.core.registry import DomainApp, DomainAppConfig


class TuniclaimConfig(DomainAppConfig):
    name = "apps.tuniclaim"
    label = "tuniclaim"
    verbose_name = _("MY TUNICLAIM")

    def domain(self) -> DomainApp:
        # Imported here: models can only be imported once the app registry is ready.
        from apps.tuniclaim.client import PLATFORM, tuniclaim_platform
        from apps.tuniclaim.dashboard import tuniclaim_panel
        from apps.tuniclaim.demo import demo_load
        from apps.tuniclaim.schedules import SCHEDULES
        from apps.tuniclaim.services import PUSH_PAYMENT, PUSH_STATUS

        return DomainApp(
            label=self.label,
            verbose_name=self.verbose_name,
            platforms={PLATFORM: tuniclaim_platform},
            handler_modules=("apps.tuniclaim.operations",),
            operation_kinds=(PUSH_STATUS, PUSH_PAYMENT),
            schedules=SCHEDULES,
            demo_loader=demo_load,
            dashboard_panels=(tuniclaim_panel,),
        )
