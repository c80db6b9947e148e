from django.core.management.base import BaseCommand

from apps.core.groups import group_permissions_sync


class Command(BaseCommand):
    help = "Give the Manager and Admin groups their permissions (idempotent; run at deploy)."

    def handle(self, *args, **options):
        for group, count in group_permissions_sync().items():
            self.stdout.write(f"{group}: {count} permissions")
