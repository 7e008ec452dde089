"""Production hardening, password hashing and keeping IINs out of logs."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

import pytest
from django.conf import settings

from birtutas.kernel.logging import MaskIINFilter

PRODUCTION_ENV = {
    "BIRTUTAS_ENV": "production",
    "BIRTUTAS_SECRET_KEY": "x" * 20 + "-production-secret-key-long-enough-0123456789",
    "BIRTUTAS_ALLOWED_HOSTS": "birtutas.example.kz",
}


def run_birtutas(*args: str, env: dict) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BIRTUTAS_")}
    return subprocess.run(
        [sys.executable, "-m", "birtutas", *args], env={**clean, **env}, capture_output=True, text=True, timeout=120
    )


def test_production_refuses_the_development_secret_key():
    result = run_birtutas("check", env={"BIRTUTAS_ENV": "production"})
    assert result.returncode != 0
    assert "BIRTUTAS_SECRET_KEY" in result.stderr


def test_check_deploy_is_clean_in_production():
    result = run_birtutas("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_passwords_are_hashed_with_argon2_by_default():
    # The test run swaps in a fast hasher; the real setting is read from the module itself.
    import birtutas.settings as real

    assert real.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")


@pytest.mark.django_db
def test_security_headers_are_sent(client):
    response = client.get("/accounts/login/")
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert settings.SESSION_COOKIE_HTTPONLY


def test_log_lines_never_carry_an_iin():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "lookup of %s failed", ("050312600511",), None)
    MaskIINFilter().filter(record)
    assert "050312600511" not in record.getMessage()
    assert "<iin>" in record.getMessage()


def test_tracebacks_are_masked_too():
    try:
        raise ValueError("no person 050312600511")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    MaskIINFilter().filter(record)
    assert "050312600511" not in logging.Formatter().format(record)


@pytest.mark.django_db
def test_throttle_counts_lookalike_usernames_as_one_account(settings, client):
    from birtutas.web import throttle

    settings.LOGIN_THROTTLE = {"per_account": 2, "per_address": 100, "window_seconds": 900}
    throttle.record_failure("teacher_a", "10.0.0.1")
    throttle.record_failure("TEACHER_A ", "10.0.0.2")
    assert throttle.is_locked("ｔeacher_a", "10.0.0.3")


def test_the_client_address_comes_from_the_trusted_proxy_only(settings, rf):
    from birtutas.web.throttle import client_address

    request = rf.get("/", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9", REMOTE_ADDR="10.0.0.1")
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_address(request) == "10.0.0.1"
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_address(request) == "203.0.113.9"  # a client cannot forge its way past the proxy
