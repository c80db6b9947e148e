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
        from apps.integrations.client import PLATFORMS

        return DomainApp(
            label=self.label,
            verbose_name=self.verbose_name,
            platforms=PLATFORMS,
            # Organisations and memberships decide who acts for whom: the
            # Admins' to change; Managers see them.
            manager_view_only=frozenset({"organization", "membership"}),
        )
