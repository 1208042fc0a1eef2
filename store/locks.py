"""Transaction-scoped advisory locks from a registry of named, never-reused ids."""

from store._locks import *  # noqa: F403  # the implementation module's __all__ is the API
from store._locks import __all__ as __all__
