"""Serve every platform simulator on localhost until interrupted."""

import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils.module_loading import import_string

from apps.core.simulator import serve


class Command(BaseCommand):
    help = "Run the local simulators of the external platforms (settings.SIMULATORS)."

    def add_arguments(self, parser):
        parser.add_argument("names", nargs="*", help="Only these simulators (default: all).")

    def handle(self, *args, names, **options):
        selected = {n: c for n, c in settings.SIMULATORS.items() if not names or n in names}
        running = []
        for name, config in selected.items():
            simulator = import_string(config["factory"])()
            running.append(serve(simulator, settings.SIMULATOR_HOST, config["port"]))
            self.stdout.write(f"{name} simulator on {running[-1].url}")
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        stop.wait()
        for server in running:
            server.stop()
