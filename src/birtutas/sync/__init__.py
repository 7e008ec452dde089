"""Sync: the offline school node, change capture, push/pull and USB bundles. Not built yet."""
