from django.utils.translation import gettext_lazy as _

from apps.core.registry import DomainApp, DomainAppConfig


class RestosyncConfig(DomainAppConfig):
    name = "apps.restosync"
    label = "restosync"
    verbose_name = _("Restaurant sync")

    def domain(self) -> DomainApp:
        # Imported here: models can only be imported once the app registry is ready.
        from apps.restosync.connectors.zenchef.client import PLATFORM as ZENCHEF
        from apps.restosync.connectors.zenchef.client import zenchef_platform
        from apps.restosync.demo import demo_load
        from apps.restosync.operations import PUSH_RESERVATION
        from apps.restosync.schedules import SCHEDULES

        return DomainApp(
            label=self.label,
            verbose_name=self.verbose_name,
            platforms={ZENCHEF: zenchef_platform},
            handler_modules=("apps.restosync.operations", "apps.restosync.webhooks"),
            operation_kinds=(PUSH_RESERVATION,),
            webhook_platforms=(ZENCHEF,),
            schedules=SCHEDULES,
            demo_loader=demo_load,
        )
