"""Birtutas: the unified education platform for Kazakhstan."""
