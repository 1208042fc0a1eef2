"""``[tool.txstore.gen]``: settings for existing code bases, read by ``txstore gen``."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

import pytest

from store._config import Config, load_config
from store._gen import cli
from store._gen._settings import settings_from_table

MIGRATION = """
CREATE DOMAIN email_address AS text;
CREATE TABLE things (id bigint PRIMARY KEY, owner_id bigint NOT NULL, name text,
                     contact email_address);
"""


def _project(
    tmp_path: Path, queries: str, settings: str = "", migration: str = MIGRATION
) -> Config:
    (tmp_path / "pyproject.toml").write_text(
        "[tool.txstore]\n"
        'migrations = "migrations"\nfixtures = "fixtures"\nqueries = "queries"\n'
        'schema_dump = "schema.sql"\ngenerated = "generated"\n' + settings
    )
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "000001_things.up.sql").write_text(migration)
    (tmp_path / "migrations" / "000001_things.down.sql").write_text("SELECT 1;\n")
    (tmp_path / "queries").mkdir()
    (tmp_path / "queries" / "things.sql").write_text(queries)
    return load_config(root=tmp_path)


async def _run(config: Config, dsn: str) -> int:
    args = argparse.Namespace(check=False, dsn=dsn, root=config.root)
    # cli.run drives its own event loop; keep it off the test's loop.
    return await asyncio.to_thread(cli.run, args)


MISNAMED = "-- name: GetThingByName :one\nSELECT id FROM things WHERE id = @id;\n"


@pytest.mark.parametrize(("rule", "code"), [("on", 1), ("warn", 0), ("off", 0)])
async def test_naming_rule_is_on_warn_or_off(
    rule: str,
    code: int,
    empty_db_dsn: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = _project(tmp_path, MISNAMED, f'[tool.txstore.gen]\nnaming-rule = "{rule}"\n')
    assert await _run(config, empty_db_dsn) == code
    err = capsys.readouterr().err
    assert ("GetThingByName is named By name" in err) == (rule != "off")
    assert (config.generated / "queries.py").is_file() == (code == 0)


async def test_authorize_marker_spelling_is_a_setting(empty_db_dsn: str, tmp_path: Path) -> None:
    queries = (
        "-- name: ListThings :many\nSELECT id FROM things\nWHERE owner_id = @owner_id\n"
        "  -- @authorize_filter is another tool's comment here\n"
        "  -- @txstore:authz\nORDER BY id;\n"
    )
    config = _project(
        tmp_path, queries, '[tool.txstore.gen]\nauthorize-marker = "@txstore:authz"\n'
    )
    assert await _run(config, empty_db_dsn) == 0
    source = (config.generated / "queries.py").read_text()
    assert 'authorize_filter="things"' in source
    assert source.count("/*authorize_filter*/") == 1


async def test_per_query_overrides_and_type_table(empty_db_dsn: str, tmp_path: Path) -> None:
    queries = (
        "-- name: RenameThing :exec\nUPDATE things SET name = $1 WHERE owner_id = $2;\n\n"
        "-- name: ThingSummary :one\nSELECT upper(name), contact FROM things WHERE id = $1;\n"
    )
    settings = (
        "[tool.txstore.gen.types]\n"
        '"email_address" = "builtins.str"\n'
        "[tool.txstore.gen.queries.RenameThing]\n"
        'params = { "$1" = "new_name", "$2" = "owner" }\n'
        'required = ["new_name"]\n'
        "[tool.txstore.gen.queries.ThingSummary]\n"
        'columns = { "upper" = "shout" }\n'
        'not-null = ["upper"]\n'
        'params = { "id" = "thing_id" }\n'
    )
    config = _project(tmp_path, queries, settings)
    assert await _run(config, empty_db_dsn) == 0
    source = (config.generated / "queries.py").read_text()
    assert "async def rename_thing(self, *, new_name: str, owner: int) -> None:" in source
    assert "async def thing_summary(self, *, thing_id: int) -> ThingSummaryRow:" in source
    models = (config.generated / "models.py").read_text()
    assert "shout: str = Field(alias=" in models
    assert "contact: builtins.str | None" in models


async def test_unknown_type_is_read_as_str_with_a_warning(
    empty_db_dsn: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # A base type of its own, as an extension would add: no Python mapping exists.
    migration = (
        "CREATE TYPE opaque;\n"
        "CREATE FUNCTION opaque_in(cstring) RETURNS opaque AS 'textin' LANGUAGE internal STRICT;\n"
        "CREATE FUNCTION opaque_out(opaque) RETURNS cstring"
        " AS 'textout' LANGUAGE internal STRICT;\n"
        "CREATE TYPE opaque (INPUT = opaque_in, OUTPUT = opaque_out, LIKE = text);\n"
        "CREATE TABLE things (id bigint PRIMARY KEY, blob opaque, unread opaque);\n"
    )
    queries = "-- name: GetBlob :one\nSELECT blob FROM things WHERE id = $1;\n"
    config = _project(tmp_path, queries, migration=migration)
    assert await _run(config, empty_db_dsn) == 0
    err = capsys.readouterr().err
    assert "warning: type opaque" in err
    assert "read as str" in err
    assert "-> str | None:" in (config.generated / "queries.py").read_text()


def test_malformed_settings_name_the_key() -> None:
    with pytest.raises(ValueError, match="naming-rule"):
        settings_from_table({"naming-rule": "sometimes"})
    with pytest.raises(ValueError, match="unknown keys: colour"):
        settings_from_table({"queries": {"Q": {"colour": "red"}}})
    with pytest.raises(ValueError, match="not a dotted Python name"):
        settings_from_table({"types": {"email": "str | None"}})
