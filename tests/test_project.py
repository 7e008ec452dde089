"""Project-wide checks: migrations match the models, the console script runs commands, the build reproduces."""

import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import polib
import pytest
from django.core.management import call_command
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.django_db
def test_migrations_match_the_models():
    call_command("makemigrations", check=True, dry_run=True, verbosity=0)


def test_console_script_runs_management_commands():
    result = subprocess.run([sys.executable, "-m", "birtutas", "help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0
    for command in ("demo_data", "term_grades", "compile_translations", "migrate"):
        assert command in result.stdout


def _locked(name):
    """The pins of a lock file: {normalized name: version}."""
    pins = {}
    for line in (ROOT / "requirements" / name).read_text().splitlines():
        if line and not line[0].isspace() and not line.startswith("#") and "==" in line:
            package, version = line.split(" ")[0].split("==")
            pins[canonicalize_name(package)] = version
    return pins


def test_lock_files_satisfy_pyproject():
    """pyproject.toml changed without `make lock`, or the two lock files disagree: fail here, not on a fresh machine."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    base, test = _locked("base.txt"), _locked("test.txt")
    assert test.items() >= base.items(), "test.txt must pin every package of base.txt at the same version"
    wanted = {
        "base.txt": project["project"]["dependencies"] + project["build-system"]["requires"],
        "test.txt": project["project"]["optional-dependencies"]["test"],
    }
    for lock_name, requirements in wanted.items():
        pins = _locked(lock_name)
        for requirement in map(Requirement, requirements):
            name = canonicalize_name(requirement.name)
            assert name in pins, f"{name} is missing from requirements/{lock_name}: run make lock"
            assert requirement.specifier.contains(pins[name], prereleases=True), (
                f"requirements/{lock_name} pins {name}=={pins[name]}, pyproject.toml wants {requirement}: run make lock"
            )
    for requirement in map(Requirement, project["project"]["optional-dependencies"]["test"]):
        assert str(requirement.specifier).startswith("=="), f"pin the tool exactly in pyproject.toml: {requirement}"


def test_wheel_carries_compiled_translations(tmp_path):
    """The .mo files are not in git; building the wheel compiles them (setup.py), from a copy without any .mo."""
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "src" / "birtutas",
        source / "src" / "birtutas",
        ignore=shutil.ignore_patterns("*.mo", "__pycache__", "*.pyc", "tests"),
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--disable-pip-version-check",
            "--wheel-dir",
            str(tmp_path / "dist"),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    (wheel,) = (tmp_path / "dist").glob("birtutas-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        for language in ("kk", "ru", "en"):
            name = f"birtutas/locale/{language}/LC_MESSAGES/django.mo"
            assert name in archive.namelist(), f"{name} is not in the wheel"
            compiled = tmp_path / f"{language}.mo"
            compiled.write_bytes(archive.read(name))
            catalogue = polib.mofile(str(compiled))
            assert compiled.stat().st_size > 0 and catalogue.metadata, f"{name} is empty"
            if language != "en":  # English msgstrs are mostly empty: the msgids are English already
                assert len(catalogue) > 100, f"{name} holds only {len(catalogue)} messages"
