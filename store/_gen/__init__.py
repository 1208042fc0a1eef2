"""``txstore gen``: typed Python from annotated SQL, checked against a real server."""

from store._gen._generate import build_plan, generate
from store._gen._naming import DEFAULT_NAMING, Naming, snake_case
from store._gen._parse import ParsedQuery, parse_queries
from store._gen._rules import by_columns, naming_problems
from store._gen.errors import GenError, Problem

__all__ = [
    "DEFAULT_NAMING",
    "GenError",
    "Naming",
    "ParsedQuery",
    "Problem",
    "build_plan",
    "by_columns",
    "generate",
    "naming_problems",
    "parse_queries",
    "snake_case",
]
