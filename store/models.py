"""The row models and enums generated from the schema (``txstore gen``)."""

from store._generated.models import *  # noqa: F403  # the generated module's __all__ is the API
from store._generated.models import __all__ as __all__
