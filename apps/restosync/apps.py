from django.utils.translation import gettext_lazy as _

from apps.core.registry import DomainAppConfig


class RestosyncConfig(DomainAppConfig):
    """Registered before it is built, so its permissions reach the groups
    as soon as it has models; its platforms and jobs join its DomainApp."""

    name = "apps.restosync"
    label = "restosync"
    verbose_name = _("Restaurant sync")
