"""The ``outer-store-in-tx`` rule: closures passed to ``in_tx`` must use their transaction."""

from __future__ import annotations

import textwrap
from pathlib import Path

from store._lint import Finding, Project, run_rules, select_rules

RULE = "outer-store-in-tx"

PYPROJECT = """\
[tool.txstore]
migrations = "schema/migrations"
fixtures = "schema/fixtures"
queries = "queries"
"""


def _write(root: Path, files: dict[str, str], pyproject: str = PYPROJECT) -> None:
    for relpath, text in {"pyproject.toml": pyproject, **files}.items():
        (root / relpath).parent.mkdir(parents=True, exist_ok=True)
        (root / relpath).write_text(textwrap.dedent(text))


def _line(root: Path, relpath: str, marker: str) -> int:
    lines = (root / relpath).read_text().splitlines()
    [line] = [n for n, text in enumerate(lines, 1) if marker in text]
    return line


def _lint(root: Path) -> list[Finding]:
    return run_rules(Project(root), select_rules([RULE]))


CLEAN = """\
    from store import Store


    class Users:
        def __init__(self, store: Store, cache: dict[int, str]) -> None:
            self.store = store
            self.cache = cache

        async def rename(self, user_id: int, name: str) -> None:
            async def work(tx: Store) -> None:
                user = await tx.get_user_by_id(id=user_id)
                self.cache[user.id] = name
                await self._write(tx, user.id, name)

            await self.store.in_tx(work, tx_id="rename")

        async def _write(self, tx: Store, user_id: int, name: str) -> None:
            await tx.update_user_name(id=user_id, name=name)

        async def count(self) -> int:
            return await self.store.in_tx(lambda tx: tx.count_users())

        async def by_method(self) -> None:
            await self.store.in_tx(self._method_work)

        async def _method_work(self, tx: Store) -> None:
            await tx.count_users()


    async def shadowing(store: Store) -> None:
        await store.in_tx(lambda store: store.count_users())


    class Wrapper:
        def __init__(self, inner: Store) -> None:
            self._inner = inner
            self._policy = object()

        async def in_tx(self, fn, **options):
            async def wrapped(tx: Store):
                return await fn(Wrapper(tx))

            return await self._inner.in_tx(wrapped, **options)
    """


def test_clean_closures_have_no_findings(tmp_path: Path) -> None:
    _write(tmp_path, {"app/service.py": CLEAN})
    assert _lint(tmp_path) == []


def test_lambda_using_the_outer_store(tmp_path: Path) -> None:
    source = """\
        async def count(store) -> int:
            return await store.in_tx(lambda tx: store.count_users())  # <- here
        """
    _write(tmp_path, {"app/count.py": source})
    assert _lint(tmp_path) == [
        Finding(
            "app/count.py",
            _line(tmp_path, "app/count.py", "<- here"),
            RULE,
            "in_tx closure '<lambda>' uses the outer store 'store'; "
            "use the transaction parameter 'tx'",
        )
    ]


def test_nested_def_using_self_store(tmp_path: Path) -> None:
    source = """\
        class Users:
            async def rename(self, user_id: int) -> None:
                async def work(tx) -> None:
                    await tx.get_user_by_id(id=user_id)
                    await self.store.update_user(id=user_id)  # <- here

                await self.store.in_tx(work)
        """
    _write(tmp_path, {"app/users.py": source})
    assert _lint(tmp_path) == [
        Finding(
            "app/users.py",
            _line(tmp_path, "app/users.py", "<- here"),
            RULE,
            "in_tx closure 'work' uses the outer store 'self.store'; "
            "use the transaction parameter 'tx'",
        )
    ]


def test_method_passed_by_reference(tmp_path: Path) -> None:
    source = """\
        class Purge:
            async def tick(self) -> None:
                await self.store.in_tx(self._do_work, tx_id="purge")

            async def _do_work(self, tx) -> None:
                await tx.delete_old_rows()
                await self.store.delete_more_rows()  # <- here
        """
    _write(tmp_path, {"app/purge.py": source})
    assert _lint(tmp_path) == [
        Finding(
            "app/purge.py",
            _line(tmp_path, "app/purge.py", "<- here"),
            RULE,
            "in_tx closure '_do_work' uses the outer store 'self.store'; "
            "use the transaction parameter 'tx'",
        )
    ]


def test_names_bound_to_the_outer_store(tmp_path: Path) -> None:
    source = """\
        class Orgs:
            def __init__(self, store) -> None:
                self._store = store
                self._db = self._store

            async def create(self) -> None:
                s = self._store

                async def work(tx) -> None:
                    await s.insert_org()  # <- local alias
                    await self._db.insert_member()  # <- attribute alias

                await self._store.in_tx(work)
        """
    _write(tmp_path, {"app/orgs.py": source})
    findings = _lint(tmp_path)
    assert [(f.path, f.line, f.rule) for f in findings] == [
        ("app/orgs.py", _line(tmp_path, "app/orgs.py", "<- local alias"), RULE),
        ("app/orgs.py", _line(tmp_path, "app/orgs.py", "<- attribute alias"), RULE),
    ]
    assert findings[0].message == (
        "in_tx closure 'work' uses the outer store 's' (bound to 'self._store'); "
        "use the transaction parameter 'tx'"
    )


def test_helper_methods_followed_two_calls_deep(tmp_path: Path) -> None:
    source = """\
        class Billing:
            async def charge(self) -> None:
                async def work(tx) -> None:
                    await self._record(tx)  # <- call
                    await self._audit(tx)

                await self.store.in_tx(work)

            async def _record(self, tx) -> None:
                await tx.insert_charge()
                await self._notify()

            async def _notify(self) -> None:
                await self.store.insert_notification()  # <- use

            async def _audit(self, tx) -> None:
                await tx.insert_audit()
        """
    _write(tmp_path, {"app/billing.py": source})
    use = _line(tmp_path, "app/billing.py", "<- use")
    assert _lint(tmp_path) == [
        Finding(
            "app/billing.py",
            _line(tmp_path, "app/billing.py", "<- call"),
            RULE,
            "in_tx closure 'work' calls _record() -> _notify(), which uses the outer store "
            f"'self.store' at line {use}; use the transaction parameter 'tx'",
        )
    ]


def test_recursive_helpers_terminate(tmp_path: Path) -> None:
    source = """\
        class Loop:
            async def run(self) -> None:
                await self.store.in_tx(lambda tx: self._a(tx))

            async def _a(self, tx) -> None:
                await self._b(tx)

            async def _b(self, tx) -> None:
                await self._a(tx)
        """
    _write(tmp_path, {"app/loop.py": source})
    assert _lint(tmp_path) == []
