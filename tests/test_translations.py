"""Every user-facing string has a Kazakh and a Russian translation, and the catalogues are current."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import polib
import pytest
from django.core.management import call_command

LOCALE = Path(__file__).resolve().parents[1] / "src" / "birtutas" / "locale"
REQUIRED = ("kk", "ru")


@pytest.mark.parametrize("language", REQUIRED)
def test_catalogue_is_complete(language):
    catalogue = polib.pofile(str(LOCALE / language / "LC_MESSAGES" / "django.po"))
    missing = [e.msgid for e in catalogue if not e.obsolete and (not e.translated() or "fuzzy" in e.flags)]
    assert not missing, f"{len(missing)} strings lack a {language} translation: {missing[:10]}"


@pytest.mark.parametrize("language", REQUIRED)
def test_placeholders_survive_translation(language):
    import re

    pattern = re.compile(r"%\(\w+\)[sd]|\{\{ *\w+ *\}\}")
    for entry in polib.pofile(str(LOCALE / language / "LC_MESSAGES" / "django.po")):
        translations = [entry.msgstr] if not entry.msgid_plural else list(entry.msgstr_plural.values())
        for text in translations:
            if text:
                assert set(pattern.findall(entry.msgid)) <= set(pattern.findall(text)) | set(
                    pattern.findall(entry.msgid_plural or "")
                ), (language, entry.msgid, text)


def test_catalogues_contain_every_string_in_the_code(tmp_path, settings, monkeypatch):
    """Re-extract the strings from a copy of the package: no string may be missing from the catalogues."""
    if not shutil.which("xgettext"):
        if os.environ.get("BIRTUTAS_REQUIRE_BROWSER"):
            pytest.fail("GNU gettext (xgettext) is not installed, and CI requires this check")
        pytest.skip("GNU gettext (xgettext) is not installed")
    # makemessages writes into the catalogues it finds, so it runs on a copy, never on the real tree.
    package = tmp_path / "birtutas"
    shutil.copytree(LOCALE.parent, package, ignore=shutil.ignore_patterns("*.mo", "__pycache__"))
    settings.LOCALE_PATHS = [package / "locale"]
    monkeypatch.chdir(package)
    call_command(
        "makemessages",
        locale=list(REQUIRED),
        no_location=True,
        no_obsolete=True,
        verbosity=0,
        ignore_patterns=["tests/*", "testing.py"],
    )
    for language in REQUIRED:
        extracted = {e.msgid for e in polib.pofile(str(package / "locale" / language / "LC_MESSAGES" / "django.po"))}
        committed = {e.msgid for e in polib.pofile(str(LOCALE / language / "LC_MESSAGES" / "django.po"))}
        assert extracted <= committed, f"run makemessages: new strings {sorted(extracted - committed)[:10]}"
