from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig
from django.db.models.signals import post_migrate


def _sync_groups(sender, **kwargs) -> None:
    from apps.core.groups import group_permissions_sync

    group_permissions_sync()


class CoreConfig(AppConfig):
    name = "apps.core"
    label = "core"
    verbose_name = "Integration core"

    def ready(self) -> None:
        from apps.core.api import schema  # noqa: F401 - registers the OpenAPI extensions

        # After every migrate, so permissions of newly added models reach the groups.
        post_migrate.connect(_sync_groups, sender=self, dispatch_uid="core-sync-groups")


class HubAdminConfig(AdminConfig):
    """The admin with the hub's own site (platform health page)."""

    default_site = "apps.core.admin_site.HubAdminSite"
