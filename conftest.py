"""Fixtures shared by every test: a fast password hasher and the two-school test world."""

import pytest


@pytest.fixture(autouse=True)
def _fast_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _school_date(settings):
    """Tests run on the test world's date, a Friday in term 2, whatever the calendar says."""
    from birtutas.testing import TODAY

    settings.BIRTUTAS_TODAY = TODAY.isoformat()


@pytest.fixture(autouse=True)
def _fresh_cache():
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture
def world(db):
    from birtutas.testing import build_world

    return build_world()
