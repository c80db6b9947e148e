"""The CI check of the catalogues: every interface string has its French and Dutch,
and the compiled catalogues are the ones Django serves.

`makemessages` runs on a copy of the project, so the check sees the strings of
the code as it is now without touching the catalogues in the repository.
"""

from __future__ import annotations

import gettext
import os
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.conf import settings

from apps.core.management.commands.compile_translations import compile_catalogues
from apps.core.preferences import user_preference_set

LANGUAGES = ("fr", "nl")
# What makemessages must not read: installed packages and build output.
IGNORED = (".venv", "node_modules", "var", "test-results")
# Not part of the source: nothing there holds a string of ours.
NOT_COPIED = shutil.ignore_patterns(".git", ".venv", "node_modules", "var", "test-results",
                                    "__pycache__",
                                    "*.mo", ".pytest_cache", ".ruff_cache", "*.sqlite3*")


def _catalogues_of_current_code(tmp_path: Path) -> dict[str, polib.POFile]:
    copy = tmp_path / "project"
    shutil.copytree(settings.BASE_DIR, copy, ignore=NOT_COPIED, symlinks=True)
    command = [sys.executable, "manage.py", "makemessages", "--no-obsolete", "--verbosity", "0",
               *(f"--locale={language}" for language in LANGUAGES),
               *(f"--ignore={pattern}" for pattern in IGNORED)]
    # The copy's own settings: LOCALE_PATHS is then the copy's locale/.
    environment = {**os.environ, "HUB_VAR_DIR": str(tmp_path / "var"),
                   "DJANGO_SETTINGS_MODULE": "config.settings"}
    # Our own interpreter and a fixed argument list.
    result = subprocess.run(command, cwd=copy, env=environment, capture_output=True, text=True,  # noqa: S603
                            timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    return {language: polib.pofile(str(copy / "locale" / language / "LC_MESSAGES" / "django.po"))
            for language in LANGUAGES}


def test_every_interface_string_is_translated(tmp_path):
    catalogues = _catalogues_of_current_code(tmp_path)

    missing = []
    for language, catalogue in catalogues.items():
        for entry in catalogue:
            if entry.obsolete or entry.translated():
                continue
            why = "fuzzy" if entry.fuzzy else "untranslated"
            where = ", ".join(f"{path}:{line}" for path, line in entry.occurrences[:2])
            missing.append(f"[{language}] {why}: {entry.msgid!r} ({where})")
    assert not missing, (
        f"{len(missing)} interface strings lack a translation. Run `manage.py makemessages "
        f"-l fr -l nl --ignore=.venv --ignore=node_modules --ignore=var`, translate them in "
        f"locale/*/LC_MESSAGES/django.po, then `manage.py compile_translations`:\n"
        + "\n".join(missing))


def test_it_compiles_without_gnu_gettext_and_leaves_guesses_out(tmp_path):
    folder = tmp_path / "fr" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    catalogue = polib.POFile()
    catalogue.metadata = {"Content-Type": "text/plain; charset=UTF-8",
                          "Plural-Forms": "nplurals=2; plural=(n > 1);"}
    catalogue.append(polib.POEntry(msgid="Shift", msgstr="Prestation"))
    catalogue.append(polib.POEntry(msgid="Worker", msgstr="Travailleur", flags=["fuzzy"]))
    catalogue.save(str(folder / "django.po"))

    written = compile_catalogues(locale_paths=[tmp_path])

    assert written == [folder / "django.mo"]
    with open(folder / "django.mo", "rb") as compiled:
        translations = gettext.GNUTranslations(compiled)
    assert translations.gettext("Shift") == "Prestation"
    assert translations.gettext("Worker") == "Worker"


@pytest.mark.django_db
def test_a_french_browser_gets_the_french_catalogue(client):
    response = client.get("/admin/login/", HTTP_ACCEPT_LANGUAGE="fr-BE,fr;q=0.9")

    assert response["Content-Language"] == "fr"
    # Our own string (the language switcher), not one Django ships translated.
    assert "Langue" in response.content.decode()


@pytest.mark.django_db
def test_a_user_who_chose_dutch_gets_the_dutch_catalogue(manager_client, manager_user):
    user_preference_set(user=manager_user, language="nl")

    response = manager_client.get("/admin/", HTTP_ACCEPT_LANGUAGE="en")

    assert response["Content-Language"] == "nl"
    assert "Voorkeuren" in response.content.decode()
