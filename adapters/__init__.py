"""Restorer adapters: one file per restorer family, registered in :mod:`adapters.registry`."""
