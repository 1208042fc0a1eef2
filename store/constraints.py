"""Enums of the schema's unique, foreign-key and check constraints (``txstore gen``)."""

from store._generated.constraints import *  # noqa: F403  # the generated module's __all__ is the API
from store._generated.constraints import __all__ as __all__
