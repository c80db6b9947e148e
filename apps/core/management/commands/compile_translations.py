"""Compile the .po catalogues of LOCALE_PATHS into the .mo files Django reads.

polib does it in Python, so a server needs no GNU gettext. The .mo files
are build output and not committed: the set-up runs this command first.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import polib
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


def compile_catalogues(*, locale_paths: list[Path]) -> list[Path]:
    """Write a .mo next to each locale/*/LC_MESSAGES/*.po; return what was written.

    Fuzzy entries are left out, as msgfmt does: a guessed translation is
    worse than the English original.
    """
    written = []
    for locale_path in locale_paths:
        for po_path in sorted(Path(locale_path).glob("*/LC_MESSAGES/*.po")):
            try:
                catalogue = polib.pofile(str(po_path))
            except (OSError, ValueError) as exc:
                raise CommandError(f"{po_path}: {exc}") from exc
            mo_path = po_path.with_suffix(".mo")
            # Written beside it, then renamed: a process reading the catalogue
            # meanwhile (a running server, another test run) never sees half of it.
            handle, temporary = tempfile.mkstemp(dir=mo_path.parent, suffix=".mo.tmp")
            os.close(handle)
            try:
                catalogue.save_as_mofile(temporary)
                os.replace(temporary, mo_path)
            finally:
                if os.path.exists(temporary):
                    os.unlink(temporary)
            written.append(mo_path)
    return written


class Command(BaseCommand):
    help = "Compile the translation catalogues (.po) into .mo files, without GNU gettext."

    def handle(self, *args, **options):
        written = compile_catalogues(locale_paths=[Path(p) for p in settings.LOCALE_PATHS])
        for mo_path in written:
            self.stdout.write(f"compiled {mo_path.relative_to(settings.BASE_DIR)}")
        self.stdout.write(self.style.SUCCESS(f"{len(written)} catalogue(s) compiled."))
