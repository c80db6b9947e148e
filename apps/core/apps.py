from django.apps import AppConfig, apps
from django.contrib.admin.apps import AdminConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _sync_groups(sender, **kwargs) -> None:
    # post_migrate is sent once per app, and each app's permissions are made
    # in its own turn: only after the last one do they all exist.
    with_models = [config for config in apps.get_app_configs() if config.models_module]
    if sender is not with_models[-1]:
        return
    from apps.core.groups import group_permissions_sync

    group_permissions_sync()


class CoreConfig(AppConfig):
    name = "apps.core"
    label = "core"
    verbose_name = _("Integration core")

    def ready(self) -> None:
        from apps.core import outgoing  # noqa: F401 - registers the webhook delivery handler
        from apps.core.api import schema  # noqa: F401 - registers the OpenAPI extensions

        # After every migrate, so permissions of newly added models reach the groups.
        post_migrate.connect(_sync_groups, dispatch_uid="core-sync-groups")


class HubAdminConfig(AdminConfig):
    """The admin with the hub's own site (platform health page)."""

    default_site = "apps.core.admin_site.HubAdminSite"
