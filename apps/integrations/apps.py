from django.utils.translation import gettext_lazy as _

from apps.core.registry import DomainAppConfig


class IntegrationsConfig(DomainAppConfig):
    """Registered before it is built, so its permissions reach the groups
    as soon as it has models; its platforms and jobs join its DomainApp."""

    name = "apps.integrations"
    label = "integrations"
    verbose_name = _("Calendars and messaging")
