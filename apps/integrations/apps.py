from django.utils.translation import gettext_lazy as _

from apps.core.registry import DomainApp, DomainAppConfig


class IntegrationsConfig(DomainAppConfig):
    name = "apps.integrations"
    label = "integrations"
    verbose_name = _("Calendars and messaging")

    def domain(self) -> DomainApp:
        # Imported here: models can only be imported once the app registry is
        # ready. Importing the providers registers their OAuth sign-in too.
        from apps.integrations import providers  # noqa: F401  (registers the OAuth providers)
        from apps.integrations.calendar_sync import PUSH_KIND
        from apps.integrations.client import PLATFORMS
        from apps.integrations.schedules import SCHEDULES

        return DomainApp(
            label=self.label,
            verbose_name=self.verbose_name,
            platforms=PLATFORMS,
            # The outbox handler of calendar pushes; the Google push channel
            # (inbox) and its notification processor.
            handler_modules=("apps.integrations.operations", "apps.integrations.push_channels"),
            operation_kinds=(PUSH_KIND,),
            webhook_platforms=("google",),
            schedules=SCHEDULES,
            # Organisations and memberships decide who acts for whom: the
            # Admins' to change; Managers see them.
            manager_view_only=frozenset({"organization", "membership"}),
        )
