"""Every user-facing string has a Kazakh and a Russian translation, and the catalogues are current."""

from __future__ import annotations

import os
import re
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


# What a translation must carry over from its msgid: python-format directives (%(name)s, %s, %d, ...)
# and str.format fields ({name}). %% is a literal percent sign, not a placeholder.
PERCENT_DIRECTIVE = re.compile(r"%(?:\(\w+\))?[-#0+]*(?:\d+|\*)?(?:\.(?:\d+|\*))?[diouxXeEfFgGcrsa]")
BRACE_FIELD = re.compile(r"\{\w*\}")


def placeholders(text):
    """The set of placeholders in a message, compared as msgfmt --check-format compares them."""
    text = text.replace("%%", "")
    return set(PERCENT_DIRECTIVE.findall(text)) | set(BRACE_FIELD.findall(text.replace("{{", "").replace("}}", "")))


def placeholder_problems(catalogue):
    """Every translated entry whose placeholders differ from its msgid's, or that has a stray %."""
    problems = []
    for entry in catalogue:
        if entry.obsolete:
            continue
        if entry.msgid_plural:
            wanted = placeholders(entry.msgid) | placeholders(entry.msgid_plural)
            forms = [text for _, text in sorted(entry.msgstr_plural.items()) if text]
            found = [placeholders(text) for text in forms]
            # A form may leave the number out ("one computer"), but none may invent a placeholder,
            # and between them the forms must use every placeholder of the plural msgid.
            if forms and (
                any(not f <= wanted for f in found) or not placeholders(entry.msgid_plural) <= set().union(*found)
            ):
                problems.append((entry.msgid_plural, sorted(wanted), forms))
        elif entry.msgstr and placeholders(entry.msgstr) != placeholders(entry.msgid):
            problems.append((entry.msgid, sorted(placeholders(entry.msgid)), entry.msgstr))
        if "python-format" in entry.flags:
            # A lone % in a python-format string raises ValueError when Django formats it.
            for text in [entry.msgstr, *entry.msgstr_plural.values()]:
                if "%" in PERCENT_DIRECTIVE.sub("", text.replace("%%", "")):
                    problems.append((entry.msgid, "a lone % (write %%)", text))
    return problems


@pytest.mark.parametrize("language", ("kk", "ru", "en"))
def test_placeholders_survive_translation(language):
    problems = placeholder_problems(polib.pofile(str(LOCALE / language / "LC_MESSAGES" / "django.po")))
    assert not problems, f"{len(problems)} {language} translations change the placeholders: {problems[:5]}"


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
