"""The hub's set-up, every step in order: what scripts/run.sh runs before it
starts the processes, what a deploy runs, and what tests/test_first_run.py
runs on an empty database, so all three do the same thing.

Idempotent: each step does only what is missing (new migrations, missing
schedules), except that the demo manager gets a new password on every run.
"""

from __future__ import annotations

from io import StringIO

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.utils.translation import gettext as _
from django.utils.translation import ngettext


class Command(BaseCommand):
    help = _("Set the hub up: translations, database, cache table, static files, schedules "
             "and (unless --no-demo) the demo manager and data. Run it at every start or deploy.")

    def add_arguments(self, parser):
        parser.add_argument("--no-demo", action="store_true",
                            help=_("Skip the demo manager and demo data (production)."))
        parser.add_argument("--no-collectstatic", action="store_true",
                            help=_("Skip collecting static files (tests, or a web server "
                                   "that serves them from elsewhere)."))

    def handle(self, *args, no_demo: bool, no_collectstatic: bool, verbosity: int, **options):
        # Each step's own output is kept for -v 2; by default one line per step
        # says what was done, and the demo login is always shown.
        self.detailed = verbosity >= 2
        self._step("compile_translations", done=_("Translations compiled."))
        pending = self._pending_migrations()
        self._step("migrate", interactive=False, done=ngettext(
            "Database: %(count)d migration applied.", "Database: %(count)d migrations applied.",
            pending) % {"count": pending} if pending else _("Database: up to date."))
        self._step("createcachetable", done=_("Cache table ready."))
        if not no_collectstatic:
            self._step("collectstatic", interactive=False, done=_("Static files collected."))
        self._step("setup_schedules", done=_("Periodic schedules set up."))
        if not no_demo:
            # Its output is the demo data it made and the manager's login: always shown.
            call_command("setup_demo", stdout=self.stdout, stderr=self.stderr)

    def _step(self, name: str, *, done: str, **options) -> None:
        if self.detailed:
            call_command(name, stdout=self.stdout, stderr=self.stderr, **options)
        else:
            call_command(name, verbosity=0, stdout=StringIO(), stderr=self.stderr, **options)
        self.stdout.write(done)

    def _pending_migrations(self) -> int:
        executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
        return len(executor.migration_plan(executor.loader.graph.leaf_nodes()))
