"""Project-wide checks: migrations match the models, the console script runs commands."""

import subprocess
import sys

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_migrations_match_the_models():
    call_command("makemigrations", check=True, dry_run=True, verbosity=0)


def test_console_script_runs_management_commands():
    result = subprocess.run([sys.executable, "-m", "birtutas", "help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0
    for command in ("demo_data", "term_grades", "compile_translations", "migrate"):
        assert command in result.stdout
