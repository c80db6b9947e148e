from django.core.management.base import BaseCommand
from django.db import transaction

from apps.core.demo import demo_data_load, demo_manager_reset


class Command(BaseCommand):
    help = "Create the demo manager account (new password each run) and the demo data."

    @transaction.atomic
    def handle(self, *args, **options):
        username, password = demo_manager_reset()
        for line in demo_data_load():
            self.stdout.write(f"Demo data — {line}")
        self.stdout.write(self.style.SUCCESS(
            f"Demo manager login: username '{username}', password '{password}'"))
