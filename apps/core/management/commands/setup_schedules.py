from django.core.management.base import BaseCommand

from apps.core.schedules import schedules_install


class Command(BaseCommand):
    help = "Create the periodic schedules (django-celery-beat) that are missing. Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("--reset", action="store_true",
                            help="Also restore existing schedules to their defaults.")

    def handle(self, *args, reset, **options):
        for name, outcome in schedules_install(reset=reset).items():
            self.stdout.write(f"{outcome:8} {name}")
