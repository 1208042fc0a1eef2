"""Checking the audit declarations, and compiling them into per-query plans."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from audit._classify import auditable_tables, check_table
from audit._declare import Audited, Lookup, Resource, Unaudited, Via
from audit._field import Auditable, Field, Problem
from audit._source import locate
from audit._sqltext import conflict_action
from audit.errors import AuditConfigError
from store import FRAMEWORK_QUERIES, Kind, Query

__all__ = ["SINGLE_KIND", "Plan", "Plans", "check_declarations", "compile_plans"]

#: The kind of the single call each argument set of a batch query is.
SINGLE_KIND = {Kind.BATCHEXEC: Kind.EXEC, Kind.BATCHMANY: Kind.MANY, Kind.BATCHONE: Kind.ONE}

_LEADING = re.compile(r"\A(?:\s+|--[^\n]*\n?|/\*.*?\*/)*", re.S)


@dataclass(frozen=True, slots=True)
class Plan:
    """Everything needed at run time to audit one mutation, resolved once."""

    name: str
    table: str
    action: str
    resource: Resource
    fields: Mapping[str, Field]
    lookup: Query[Any] | None  # reads the old row (FOR UPDATE when locking)
    lookup_args: tuple[int, ...]  # indices into the mutation's args
    hard_delete: bool  # the mutation returns the deleted (old) row
    via: Query[Any] | None  # finds the org (tenant) through another row
    via_args: tuple[str, ...]  # row attributes, in the via query's parameter order
    model: type[BaseModel] | None = None  # the audited table's row model
    query: Query[Any] | None = None  # the audited mutation
    key: tuple[str, ...] = ()  # a bulk UPDATE's row identity
    bulk: bool = False  # :exec, :execrows or :many: one entry per row, one statement only
    batch: bool = False  # :batchexec, :batchmany, :batchone: one statement only
    statement: str = ""  # INSERT, UPDATE, DELETE or UPSERT (INSERT ... ON CONFLICT DO UPDATE)
    created: str = ""  # an UPSERT's action for the rows it inserts (``action`` for updated ones)


@dataclass(frozen=True, slots=True)
class Plans:
    """The compiled declarations: audited queries, and the writes allowed without an entry.

    ``queries`` is every query the layer may run (the checked ones and the
    framework's own), by name: a call is matched against it, never trusted.
    """

    audited: Mapping[str, Plan]
    unaudited: frozenset[str]
    tables: frozenset[str]
    queries: Mapping[str, Query[Any]]


def _statement(sql: str) -> str:
    word = _LEADING.sub("", sql, count=1).split(None, 1)[0].upper() if sql.strip() else ""
    if word == "INSERT":
        try:
            upsert = conflict_action(sql) == "UPDATE"
        except ValueError:
            upsert = False  # PostgreSQL reports the broken literal when the query is prepared
        return "UPSERT" if upsert else word
    return word


class _Checker:
    def __init__(
        self,
        mutations: Mapping[str, Audited | Unaudited],
        resources: Mapping[str, Resource],
        table: Sequence[Auditable],
        queries: Mapping[str, Query[Any]],
        source: Path,
        actions: tuple[str, str],
    ) -> None:
        self.mutations = mutations
        self.resources = resources
        self.tables = auditable_tables(table)
        self.queries = queries
        self.where = locate(source)
        self.create, self.delete = actions
        self.problems: list[Problem] = []
        self.plans: dict[str, Plan] = {}

    def problem(self, line: int | None, message: str) -> None:
        self.problems.append(Problem(self.where.file, self.where.line(line), message))

    def mutation_line(self, name: str) -> int:
        return self.where.line(
            self.where.keys.get(("MUTATIONS", name)), self.where.assignments.get("MUTATIONS")
        )

    def run_and_report(self) -> list[Problem]:
        self.run()
        return self.problems

    def run(self) -> None:
        file = self.where.file
        for query in self.queries.values():
            if query.mutates in self.tables and query.name not in self.mutations:
                self.problem(
                    self.where.assignments.get("MUTATIONS"),
                    f"{query.name} ({query.source}) writes auditable table {query.mutates} but "
                    f"has no audit declaration: add it to MUTATIONS in {file} as Audited(...) "
                    "or Unaudited(reason)",
                )
        for name, declaration in self.mutations.items():
            self.declaration(name, declaration)
        used = {self.queries[n].mutates for n in self.plans}
        for name in self.resources:
            line = self.where.keys.get(("RESOURCES", name))
            if name not in self.tables:
                self.problem(line, f"RESOURCES[{name!r}] names no auditable table: remove it")
            elif name in used:
                self.resource(name, line)

    def declaration(self, name: str, declaration: Audited | Unaudited) -> None:
        line = self.mutation_line(name)
        query = self.queries.get(name)
        if query is None:
            self.problem(line, f"MUTATIONS[{name!r}] is stale: there is no query {name}; remove it")
            return
        if query.mutates not in self.tables:
            self.problem(
                line,
                f"MUTATIONS[{name!r}] is stale: {name} writes no auditable table; remove it",
            )
            return
        if isinstance(declaration, Unaudited):
            if not declaration.reason.strip():
                self.problem(line, f"Unaudited {name} needs a reason")
            return
        self.audited(name, query, declaration, line)

    def audited(self, name: str, query: Query[Any], declared: Audited, line: int) -> None:
        table = query.mutates
        assert table is not None
        entry = self.tables[table]
        model_fields = set(entry.model.model_fields)
        # A batch is audited as its single call: each argument set like the one query.
        kind = SINGLE_KIND.get(query.kind, query.kind)
        bulk = kind is not Kind.ONE
        returns_row = set(query.columns) == model_fields
        if query.kind is Kind.COPYFROM:
            self.problem(
                line,
                f"{name} ({query.source}) is :copyfrom, which the audit layer cannot audit "
                "row by row in the same statement (COPY runs no statement per row): make it "
                ":batchexec (each argument set audited as the single write would be), or "
                "declare it Unaudited(reason)",
            )
            return
        if (kind in (Kind.ONE, Kind.MANY) and not returns_row) or (
            kind in (Kind.EXEC, Kind.EXECROWS) and query.columns
        ):
            self.problem(
                line,
                f"{name} ({query.source}) must end in RETURNING * (':one' or ':many'), or "
                "return nothing (':exec', ':execrows'), to be audited: each entry diffs a "
                "whole row; or declare it Unaudited(reason)",
            )
            return
        if table not in self.resources:
            self.problem(
                self.where.assignments.get("RESOURCES"),
                f"table {table} has audited mutations but no RESOURCES entry in {self.where.file}",
            )
            return
        statement = _statement(query.sql)
        create, delete = self.create, self.delete
        expected = {
            "INSERT": (
                declared.action == create and declared.old is None,
                f"an INSERT is Audited({create!r}) with no old lookup",
            ),
            "DELETE": (
                declared.action == delete and declared.old is None,
                f"a DELETE ... RETURNING * is Audited({delete!r}) with no old lookup",
            ),
            "UPSERT": (
                declared.action != create and declared.old is not None and not bulk,
                "an INSERT ... ON CONFLICT DO UPDATE is a ':one ... RETURNING *' "
                f"Audited(an update action, Lookup(the get query of the conflicting row)); "
                f"the rows it inserts are recorded as {create!r}",
            )
            if not bulk
            else (
                declared.action != create and declared.old is None,
                "a bulk INSERT ... ON CONFLICT (columns) DO UPDATE (:exec, :execrows, :many) "
                f"is Audited(an update action) with no old lookup; the rows it inserts are "
                f"recorded as {create!r}",
            ),
            "UPDATE": (
                declared.action != create and declared.old is not None and not bulk,
                f"an UPDATE is Audited(an update action or {delete!r}, Lookup(get query))",
            )
            if not bulk
            else (
                declared.action != create
                and declared.old is None
                and bool(declared.key)
                and set(declared.key) <= model_fields,
                f"a bulk UPDATE is Audited(an update action or {delete!r}, key=(the columns "
                "of its primary key)), with no old lookup",
            ),
        }.get(statement, (False, f"cannot audit a {statement or 'blank'} statement"))
        if not expected[0]:
            self.problem(line, f"MUTATIONS[{name!r}]: {expected[1]}")
            return
        if statement == "UPSERT" and declared.old is not None and declared.old.lock is False:
            self.problem(
                line,
                f"MUTATIONS[{name!r}]: an upsert's Lookup must lock (lock=True or a lock "
                "query): its entry's old values are the row the upsert replaces",
            )
            return
        if declared.key and not (bulk and statement == "UPDATE"):
            self.problem(line, f"MUTATIONS[{name!r}]: key is for bulk UPDATEs only")
            return
        lookup: Query[Any] | None = None
        lookup_args: tuple[int, ...] = ()
        if declared.old is not None:
            found = self.lookup(name, query, table, declared.old, line)
            if found is None:
                return
            lookup, lookup_args = found
        self.plans[name] = Plan(
            name=name,
            table=table,
            action=declared.action,
            resource=self.resources[table],
            fields=entry.classification(),
            lookup=lookup,
            lookup_args=lookup_args,
            hard_delete=statement == "DELETE",
            via=None,
            via_args=(),
            model=entry.model,
            statement=statement,
            query=query,
            key=declared.key,
            bulk=bulk,
            batch=kind is not query.kind,
            created=create if statement == "UPSERT" else "",
        )

    def lookup(
        self, name: str, mutation: Query[Any], table: str, declared: Lookup, line: int
    ) -> tuple[Query[Any], tuple[int, ...]] | None:
        query = self.queries.get(declared.query)
        if query is None:
            self.problem(line, f"MUTATIONS[{name!r}]: old lookup {declared.query} is no query")
            return None
        if (
            query.kind is not Kind.ONE
            or query.mutates is not None
            or query.tables != (table,)
            or set(query.columns) != set(mutation.columns)
        ):
            self.problem(
                line,
                f"MUTATIONS[{name!r}]: old lookup {declared.query} must be a ':one' SELECT * "
                f"of {table} alone",
            )
            return None
        positions = {p.name: i for i, p in enumerate(mutation.params)}
        indices: list[int] = []
        for param in query.params:
            source = declared.args.get(param.name, param.name)
            if source not in positions:
                self.problem(
                    line,
                    f"MUTATIONS[{name!r}]: {declared.query} needs {param.name!r} but {name} has "
                    f"no parameter {source!r}; map it with Lookup(args={{...}})",
                )
                return None
            indices.append(positions[source])
        if isinstance(declared.lock, str):
            lock = self.queries.get(declared.lock)
            if lock is None or lock.params != query.params or "FOR UPDATE" not in lock.sql.upper():
                self.problem(
                    line,
                    f"MUTATIONS[{name!r}]: lock query {declared.lock} must exist, take the "
                    f"parameters of {declared.query} and SELECT ... FOR UPDATE",
                )
                return None
            query = lock
        elif declared.lock:
            query = query.for_update()
        return query, tuple(indices)

    def resource(self, table: str, line: int | None) -> None:
        declared = self.resources[table]
        fields = set(self.tables[table].model.model_fields)
        attributes = {"id": declared.id, "target": declared.target}
        if isinstance(declared.org, str):
            attributes["org"] = declared.org
        for role, attribute in attributes.items():
            if attribute is not None and attribute not in fields:
                self.problem(line, f"RESOURCES[{table!r}].{role}: the row has no {attribute!r}")
        if not re.fullmatch(r"[a-z0-9_]+", declared.type):
            self.problem(line, f"RESOURCES[{table!r}].type must match [a-z0-9_]+")
        if isinstance(declared.org, Via):
            self.via(table, declared.org, fields, line)

    def via(self, table: str, via: Via, fields: set[str], line: int | None) -> None:
        query = self.queries.get(via.query)
        if query is None or query.kind is not Kind.ONE or query.mutates is not None:
            self.problem(line, f"RESOURCES[{table!r}]: {via.query} is no ':one' SELECT query")
            return
        if via.attribute not in query.columns:
            self.problem(line, f"RESOURCES[{table!r}]: {via.query} returns no {via.attribute!r}")
            return
        sources = tuple(via.args.get(p.name, p.name) for p in query.params)
        missing = [s for s in sources if s not in fields]
        if missing:
            self.problem(line, f"RESOURCES[{table!r}]: the row has no {', '.join(missing)}")
            return
        for name, plan in self.plans.items():
            if plan.table == table:
                self.plans[name] = dataclasses.replace(plan, via=query, via_args=sources)


def check_declarations(
    mutations: Mapping[str, Audited | Unaudited],
    resources: Mapping[str, Resource],
    *,
    table: Sequence[Auditable],
    queries: Mapping[str, Query[Any]],
    source: Path,
    actions: tuple[str, str] = ("create", "delete"),
) -> list[Problem]:
    """Every writing query of an auditable table without a declaration, and every stale one.

    Also checks each declaration against its query (``:one ... RETURNING *``,
    statement vs. action, the old lookup's parameters) and each resource's
    attributes against the row model. ``actions`` are the application's
    (create, delete) actions. Problems name ``source`` and the entry's line.
    Raises nothing: problems are returned.
    """
    return _Checker(mutations, resources, table, queries, source, actions).run_and_report()


def compile_plans(
    mutations: Mapping[str, Audited | Unaudited],
    resources: Mapping[str, Resource],
    *,
    table: Sequence[Auditable],
    not_audited: Mapping[str, str],
    queries: Mapping[str, Query[Any]],
    source: Path,
    actions: tuple[str, str] = ("create", "delete"),
) -> Plans:
    """Check the classification table and the declarations, and compile the plans.

    Raises:
        AuditConfigError: any problem; the message lists each with its file and line.
    """
    checker = _Checker(mutations, resources, table, queries, source, actions)
    checker.run()
    problems = [
        *check_table(table, not_audited=not_audited, queries=queries, source=source),
        *checker.problems,
    ]
    if problems:
        raise AuditConfigError([str(p) for p in problems])
    unaudited = frozenset(n for n, d in checker.mutations.items() if isinstance(d, Unaudited))
    known = {**FRAMEWORK_QUERIES, **checker.queries}
    return Plans(checker.plans, unaudited, frozenset(checker.tables), known)
