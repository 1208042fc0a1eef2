"""Lint rules: one module per rule, each exposing ``ID``, ``DESCRIPTION`` and ``check(project)``."""

__all__: list[str] = []
