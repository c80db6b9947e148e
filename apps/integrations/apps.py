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
        from apps.integrations.slack_notify import POST_KIND as SLACK_POST_KIND
        from apps.integrations.zoom_meetings import CREATE_KIND as ZOOM_CREATE_KIND
        from apps.integrations.zoom_meetings import IMPORT_KIND as ZOOM_IMPORT_KIND

        return DomainApp(
            label=self.label,
            verbose_name=self.verbose_name,
            platforms=PLATFORMS,
            # The outbox handlers (calendar pushes, Slack posts, Zoom meetings and
            # attendance); the Google push channel and the Zoom channel (inbox)
            # with their processors; the outgoing event types.
            handler_modules=("apps.integrations.operations", "apps.integrations.push_channels",
                             "apps.integrations.graph_subscriptions",
                             "apps.integrations.notify_operations",
                             "apps.integrations.zoom_meetings",
                             "apps.integrations.outgoing_events"),
            operation_kinds=(PUSH_KIND, SLACK_POST_KIND, ZOOM_CREATE_KIND, ZOOM_IMPORT_KIND),
            webhook_platforms=("google", "microsoft", "zoom"),
            schedules=SCHEDULES,
            # Organisations and memberships decide who acts for whom: the
            # Admins' to change; Managers see them.
            manager_view_only=frozenset({"organization", "membership"}),
        )
