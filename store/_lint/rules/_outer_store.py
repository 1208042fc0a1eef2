"""``outer-store-in-tx``: a closure passed to ``in_tx`` that touches the outer store.

For every call ``<outer>.in_tx(fn, ...)`` where ``<outer>`` is a name or an
attribute chain (``store``, ``self.store``), the closure ``fn`` (a lambda, a
nested ``def`` passed by name, or a method passed as ``self.method``) must use
its transaction parameter. A use of ``<outer>``, or of a name or attribute bound
to it (``s = self.store``; ``self._s = self.store``), is a finding at the line
of the use. So is a call from the closure to a method of the same class that,
itself or through the methods it calls (followed to any depth), uses an outer
store rooted at ``self``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from store._lint._finding import Finding
from store._lint._project import Project, SourceFile

__all__ = ["DESCRIPTION", "ID", "check"]

ID = "outer-store-in-tx"
DESCRIPTION = "in_tx closures using the outer store instead of their transaction parameter"

_SELF = "<self>"  # the instance, whatever its first parameter is called
Chain = tuple[str, ...]
_Function = ast.FunctionDef | ast.AsyncFunctionDef
_Scope = ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda


def _chain(node: ast.expr) -> Chain | None:
    """``a.b.c`` -> ("a", "b", "c"); None for anything that is not a plain name/attribute chain."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return tuple(reversed(parts))


def _show(chain: Chain, self_name: str | None) -> str:
    root = (self_name or "self") if chain[0] == _SELF else chain[0]
    return ".".join((root, *chain[1:]))


def _params(node: _Scope) -> list[str]:
    args = node.args
    return [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)] + [
        a.arg for a in (args.vararg, args.kwarg) if a is not None
    ]


def _self_param(method: _Function) -> str | None:
    decorators = {d.id for d in method.decorator_list if isinstance(d, ast.Name)}
    params = [a.arg for a in (*method.args.posonlyargs, *method.args.args)]
    if "staticmethod" in decorators or not params:
        return None
    return params[0]


@dataclass(frozen=True)
class _Context:
    """Where an ``in_tx`` call sits: its enclosing functions (innermost last) and class."""

    functions: tuple[_Function, ...]
    cls: ast.ClassDef | None
    self_name: str | None


@dataclass(frozen=True)
class _Closure:
    name: str
    node: _Scope
    self_name: str | None  # what the instance is called inside the closure
    tx_param: str | None
    is_method: bool


class _Aliases:
    """Union-find over chains bound to one another by plain assignment."""

    def __init__(self) -> None:
        self._parent: dict[Chain, Chain] = {}

    def find(self, chain: Chain) -> Chain:
        root = chain
        while self._parent.get(root, root) != root:
            root = self._parent[root]
        return root

    def union(self, a: Chain, b: Chain) -> None:
        self._parent[self.find(a)] = self.find(b)

    def group(self, chain: Chain) -> set[Chain]:
        root = self.find(chain)
        return {c for c in {*self._parent, chain} if self.find(c) == root}


def _normalise(chain: Chain, self_name: str | None) -> Chain:
    return (_SELF, *chain[1:]) if self_name is not None and chain[0] == self_name else chain


def _bind_assignments(
    aliases: _Aliases, body: ast.AST, self_name: str | None, *, self_only: bool = False
) -> None:
    for node in ast.walk(body):
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        source = _chain(value)
        if source is None:
            continue
        for target in targets:
            bound = _chain(target)
            if bound is None:
                continue
            pair = (_normalise(bound, self_name), _normalise(source, self_name))
            if not self_only or all(c[0] == _SELF for c in pair):
                aliases.union(*pair)


def _methods(cls: ast.ClassDef | None) -> dict[str, _Function]:
    if cls is None:
        return {}
    return {n.name: n for n in cls.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}


class _UseFinder:
    """Walks a function body for maximal name/attribute chains matching the outer store."""

    def __init__(self, outer: set[Chain], self_name: str | None, shadowed: set[str]) -> None:
        self.outer = outer
        self.self_name = self_name
        self.shadowed = shadowed
        self.uses: list[tuple[int, Chain]] = []

    def matches(self, chain: Chain) -> Chain | None:
        if chain[0] in self.shadowed:
            return None
        normal = _normalise(chain, self.self_name)
        for length in range(1, len(normal) + 1):
            if normal[:length] in self.outer:
                return chain[:length]
        return None

    def visit(self, node: ast.AST) -> None:
        if isinstance(node, ast.Name | ast.Attribute):
            chain = _chain(node)
            if chain is not None:
                used = self.matches(chain)
                if used is not None:
                    self.uses.append((node.lineno, used))
                return
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            inner = _UseFinder(self.outer, self.self_name, self.shadowed | set(_params(node)))
            inner.uses = self.uses
            body: Sequence[ast.AST] = [node.body] if isinstance(node, ast.Lambda) else node.body
            for child in body:
                inner.visit(child)
            return
        for child in ast.iter_child_nodes(node):
            self.visit(child)


def _body(node: _Scope) -> list[ast.AST]:
    return [node.body] if isinstance(node, ast.Lambda) else list(node.body)


def _uses(
    node: _Scope, outer: set[Chain], self_name: str | None, shadowed: set[str]
) -> list[tuple[int, Chain]]:
    finder = _UseFinder(outer, self_name, shadowed)
    for statement in _body(node):
        finder.visit(statement)
    return finder.uses


def _self_calls(
    node: _Scope, self_name: str | None, shadowed: set[str]
) -> Iterator[tuple[int, str]]:
    if self_name is None or self_name in shadowed:
        return
    for statement in _body(node):
        for call in ast.walk(statement):
            if isinstance(call, ast.Call):
                chain = _chain(call.func)
                if chain is not None and len(chain) == 2 and chain[0] == self_name:
                    yield call.lineno, chain[1]


class _ClassGraph:
    """Which methods of one class reach a use of the outer store, and by which path."""

    def __init__(self, cls: ast.ClassDef | None, outer: set[Chain]) -> None:
        self.methods = _methods(cls)
        self.outer = {c for c in outer if c[0] == _SELF}
        self._memo: dict[str, tuple[list[str], int, Chain] | None] = {}

    def reach(
        self, name: str, visiting: frozenset[str] = frozenset()
    ) -> tuple[list[str], int, Chain] | None:
        """(call path, line, chain) of the first outer-store use reachable from ``name``."""
        if name in self._memo:
            return self._memo[name]
        method = self.methods.get(name)
        if method is None or name in visiting or not self.outer:
            return None
        self_name = _self_param(method)
        params = set(_params(method)) - {self_name} if self_name else set(_params(method))
        result: tuple[list[str], int, Chain] | None = None
        uses = _uses(method, self.outer, self_name, params) if self_name else []
        if uses:
            result = ([name], uses[0][0], uses[0][1])
        else:
            for _, callee in _self_calls(method, self_name, params):
                found = self.reach(callee, visiting | {name})
                if found is not None:
                    result = ([name, *found[0]], found[1], found[2])
                    break
        self._memo[name] = result
        return result


def _find_def(context: _Context, tree: ast.Module, name: str) -> _Scope | None:
    for function in reversed(context.functions):
        for node in ast.walk(function):
            if (
                node is not function
                and isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
                and node.name == name
            ):
                return node
            if (
                isinstance(node, ast.Assign)
                and isinstance(node.value, ast.Lambda)
                and any(isinstance(t, ast.Name) and t.id == name for t in node.targets)
            ):
                return node.value
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name:
            return node
    return None


def _closure(context: _Context, tree: ast.Module, argument: ast.expr) -> _Closure | None:
    if isinstance(argument, ast.Lambda):
        params = _params(argument)
        return _Closure(
            "<lambda>", argument, context.self_name, params[0] if params else None, False
        )
    if isinstance(argument, ast.Name):
        found = _find_def(context, tree, argument.id)
        if found is None:
            return None
        params = _params(found)
        return _Closure(argument.id, found, context.self_name, params[0] if params else None, False)
    chain = _chain(argument)
    if chain is None or len(chain) != 2 or chain[0] != context.self_name:
        return None
    method = _methods(context.cls).get(chain[1])
    if method is None:
        return None
    self_name = _self_param(method)
    params = [p for p in _params(method) if p != self_name]
    return _Closure(chain[1], method, self_name, params[0] if params else None, True)


def _closure_argument(call: ast.Call) -> ast.expr | None:
    if call.args:
        return call.args[0]
    return next((k.value for k in call.keywords if k.arg == "fn"), None)


def _check_call(source: SourceFile, context: _Context, call: ast.Call) -> Iterator[Finding]:
    assert isinstance(call.func, ast.Attribute)
    receiver = _chain(call.func.value)
    argument = _closure_argument(call)
    if receiver is None or argument is None:
        return
    closure = _closure(context, source.tree, argument)
    if closure is None:
        return
    aliases = _Aliases()
    for method in _methods(context.cls).values():
        _bind_assignments(aliases, method, _self_param(method), self_only=True)
    for function in context.functions:
        _bind_assignments(aliases, function, context.self_name)
    outer = aliases.group(_normalise(receiver, context.self_name))
    if closure.is_method:
        outer = {c for c in outer if c[0] == _SELF}
    shown = ".".join(receiver)
    shadowed = {p for p in _params(closure.node) if p != closure.self_name or not closure.is_method}
    advice = f"; use the transaction parameter '{closure.tx_param}'" if closure.tx_param else ""
    for line, used in _uses(closure.node, outer, closure.self_name, shadowed):
        written = ".".join(used)
        bound = "" if written == shown else f" (bound to '{shown}')"
        yield Finding(
            source.relpath,
            line,
            ID,
            f"in_tx closure '{closure.name}' uses the outer store '{written}'{bound}{advice}",
        )
    graph = _ClassGraph(context.cls, outer)
    for line, callee in _self_calls(closure.node, closure.self_name, shadowed):
        found = graph.reach(callee)
        if found is None:
            continue
        path, use_line, chain = found
        via = " -> ".join(f"{m}()" for m in path)
        written = _show(chain, closure.self_name)
        bound = "" if written == shown else f" (bound to '{shown}')"
        yield Finding(
            source.relpath,
            line,
            ID,
            f"in_tx closure '{closure.name}' calls {via}, which uses the outer store "
            f"'{written}' at line {use_line}{bound}{advice}",
        )


def _walk(source: SourceFile, node: ast.AST, context: _Context) -> Iterator[Finding]:
    for child in ast.iter_child_nodes(node):
        inner = context
        if isinstance(child, ast.ClassDef):
            inner = _Context((), child, None)
        elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
            is_method = isinstance(node, ast.ClassDef) and not context.functions
            self_name = _self_param(child) if is_method else context.self_name
            inner = _Context((*context.functions, child), context.cls, self_name)
        elif (
            isinstance(child, ast.Call)
            and isinstance(child.func, ast.Attribute)
            and child.func.attr == "in_tx"
        ):
            yield from _check_call(source, context, child)
        yield from _walk(source, child, inner)


def check(project: Project) -> Iterable[Finding]:
    """Yield every outer-store use reachable from an ``in_tx`` closure."""
    for source in project.sources:
        yield from _walk(source, source.tree, _Context((), None, None))
