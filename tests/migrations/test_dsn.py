"""The DSN parser: every form read, the password kept apart and never shown."""

from __future__ import annotations

import pytest

from migrations._dsn import MASK, Dsn, redact
from migrations.errors import MalformedDsn

#: A test password holding every character some DSN form treats specially.
SECRET = "S3cr/et?#@:x y'z\\"  # noqa: S105


def _quoted_keyword(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


@pytest.mark.parametrize(
    ("text", "hosts", "ports", "user", "password", "database"),
    [
        (
            "postgresql://app:S3cr%2Fet%3F%23%40%3Ax%20y'z%5C@db.example:5433/prod",
            ("db.example",),
            (5433,),
            "app",
            SECRET,
            "prod",
        ),
        ("postgres://app:p@ss:w@db/prod", ("db",), (), "app", "p@ss:w", "prod"),
        (
            "postgresql://app@h1:5432,h2:5433/prod?password=qp%26w&sslmode=require",
            ("h1", "h2"),
            (5432, 5433),
            "app",
            "qp&w",
            "prod",
        ),
        (
            f"host=db port=5433 user=app dbname=prod password={_quoted_keyword(SECRET)}",
            ("db",),
            (5433,),
            "app",
            SECRET,
            "prod",
        ),
        ("host=db password=plain", ("db",), (), None, "plain", None),
        ("postgresql://[::1]:5432/prod", ("::1",), (5432,), None, None, "prod"),
        ("postgresql:///prod?host=/run/postgresql", ("/run/postgresql",), (), None, None, "prod"),
    ],
    ids=[
        "url-encoded",
        "raw-at-colon",
        "multi-host-query-password",
        "keywords",
        "bare-keyword",
        "ipv6",
        "socket",
    ],
)
def test_every_form_is_read(
    text: str,
    hosts: tuple[str, ...],
    ports: tuple[int, ...],
    user: str | None,
    password: str | None,
    database: str | None,
) -> None:
    dsn = Dsn.parse(text)
    assert (dsn.hosts, dsn.ports, dsn.user, dsn.password, dsn.database) == (
        hosts,
        ports,
        user,
        password,
        database,
    )
    shown = f"{dsn.redacted()} {dsn.target()} {dsn.without_password()} {dsn!r}".replace(
        repr(dsn.password), ""
    )
    if password:
        assert password not in shown
        assert MASK in dsn.redacted()
    again = Dsn.parse(dsn.without_password())  # what the driver gets reads back the same
    assert (again.hosts, again.ports, again.user, again.database) == (hosts, ports, user, database)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("postgresql://app:S3cr/et?#@:x y'z\\@db/prod", "percent-encoded"),
        ("postgresql://app:S3cr?et@db/prod", "percent-encoded"),
        ("postgresql://app:S3cr#et@db/prod", "percent-encoded"),
        ("postgresql://app:12/S3cret@db/prod", "percent-encoded"),
        ("postgresql://app:S3cret@127.0.0.1:99999999/prod", "1 to 65535"),
        ("postgresql://app:S3cret@127.0.0.1:notaport/prod", "1 to 65535"),
        ("postgresql://app:S3cret@[::1/prod", "IPv6"),
        ("mysql://app:S3cret@db/prod", "scheme"),
        ("host=db password='S3cret unterminated", "not closed"),
        ("host=db password=S3cret garbage", "name=value"),
        ("", "empty"),
    ],
)
def test_a_malformed_dsn_says_why_and_never_shows_the_password(text: str, reason: str) -> None:
    with pytest.raises(MalformedDsn, match=reason) as caught:
        Dsn.parse(text)
    said = f"{caught.value} {caught.value!r} {caught.value.shown}"
    for piece in ("S3cr", "et?", "S3cret", "12/"):
        assert piece not in said
    assert isinstance(caught.value, ValueError)


def test_redact_masks_every_spelling_even_of_an_unparseable_dsn() -> None:
    encoded = "postgresql://app:S3cr%2Fet@db/prod"
    assert redact(encoded, "bad S3cr/et and S3cr%2Fet") == f"bad {MASK} and {MASK}"
    raw = "postgresql://app:S3cr/et@db:notaport/prod"
    assert "S3cr" not in redact(raw, f"could not parse {raw}: port 'et@db'")
    keyword = "host=db password='a b\\'c"  # never closed
    assert redact(keyword, "value a b'c refused") == f"value {MASK} refused"
