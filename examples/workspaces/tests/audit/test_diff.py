"""diff(): tracked changes only, secrets without values, JSON-ready (audit/_diff.py)."""

from __future__ import annotations

import datetime
import ipaddress
import json
import uuid
from typing import Any

import audit
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, JsonValue

from tests.audit._support import Ledger
from workspaces.auditing import AUDIT
from workspaces.db import models

_T0 = datetime.datetime(2024, 6, 1, 12, 0, tzinfo=datetime.UTC)


def _user(ledger: Ledger, **changes: Any) -> models.User:
    values: dict[str, Any] = {
        "id": uuid.UUID("0b000000-0000-4000-8000-0000000000aa"),
        "email": "zoe@example.com",
        "username": "zoe",
        "name": "Zoe",
        "hashed_password": ledger.secret(b"diff-test-hash-0001"),
        "status": models.UserStatus.ACTIVE,
        "rbac_roles": ["member"],
        "avatar_url": None,
        "deleted": False,
        "last_seen_at": None,
        "login_type": models.LoginType.PASSWORD,
        "created_at": _T0,
        "updated_at": _T0,
    }
    return models.User(**(values | changes))


def _key(ledger: Ledger) -> models.APIKey:
    return models.APIKey(
        id="AbCdEf1234",
        hashed_secret=ledger.secret(b"diff-test-key-hash-01"),
        user_id=uuid.uuid4(),
        last_used=None,
        expires_at=_T0 + datetime.timedelta(days=1),
        created_at=_T0,
        updated_at=_T0,
        login_type=models.LoginType.PASSWORD,
        lifetime_seconds=86400,
        ip_address=ipaddress.ip_address("2001:db8::1"),
        scopes=["all"],
        token_name="ci",  # noqa: S106  # a token's display name, not a secret
    )


def test_create_records_every_tracked_field_and_hides_the_secret(ledger: Ledger) -> None:
    changes = AUDIT.diff(None, _user(ledger))

    assert changes["username"] == audit.Change(old=None, new="zoe")
    assert changes["id"].new == "0b000000-0000-4000-8000-0000000000aa"
    assert changes["status"].new == "active"
    assert changes["hashed_password"] == audit.Change(secret=True)
    assert not {"updated_at", "created_at", "last_seen_at"} & changes.keys()


def test_update_records_only_changed_tracked_fields(ledger: Ledger) -> None:
    old = _user(ledger)
    new = _user(
        ledger,
        name="Zoe Z",
        rbac_roles=["member", "auditor"],
        updated_at=_T0 + datetime.timedelta(minutes=5),
    )

    assert AUDIT.diff(old, new) == {
        "name": audit.Change(old="Zoe", new="Zoe Z"),
        "rbac_roles": audit.Change(old=["member"], new=["member", "auditor"]),
    }


def test_delete_records_old_values(ledger: Ledger) -> None:
    changes = AUDIT.diff(_key(ledger), None)

    assert changes["id"] == audit.Change(old="AbCdEf1234", new=None)
    assert changes["expires_at"] == audit.Change(old="2024-06-02T12:00:00Z", new=None)
    assert changes["hashed_secret"] == audit.Change(secret=True)
    assert "ip_address" not in changes
    assert "last_used" not in changes


def test_secret_only_change_shows_that_it_changed_and_nothing_else(ledger: Ledger) -> None:
    old = _user(ledger)
    new = _user(ledger, hashed_password=ledger.secret(b"diff-test-hash-0002"))

    changes = AUDIT.diff(old, new)

    assert changes == {"hashed_password": audit.Change(secret=True)}
    assert audit.diff_json(changes) == {"hashed_password": {"secret": True}}
    assert changes["hashed_password"].old is None
    assert changes["hashed_password"].new is None
    assert ledger.leaks([json.dumps(audit.diff_json(changes)), repr(changes)]) == []


def test_ignore_only_change_is_an_empty_diff(ledger: Ledger) -> None:
    old = _user(ledger)
    new = _user(ledger, last_seen_at=_T0, updated_at=_T0 + datetime.timedelta(hours=1))

    assert AUDIT.diff(old, new) == {}


class _Settings(BaseModel):
    id: uuid.UUID
    settings: JsonValue
    token: bytes
    touched: datetime.datetime


_SETTINGS_FIELDS = {
    "id": audit.TRACK,
    "settings": audit.TRACK,
    "token": audit.SECRET,
    "touched": audit.IGNORE,
}


def test_nested_json_is_compared_by_value_and_recorded_whole() -> None:
    base = {"a": {"b": [1, 2, {"c": None}]}, "flag": True}
    old = _Settings(id=uuid.uuid4(), settings=base, token=b"t" * 8, touched=_T0)
    same = old.model_copy(update={"settings": {"flag": True, "a": {"b": [1, 2, {"c": None}]}}})
    deep = old.model_copy(update={"settings": {"a": {"b": [1, 2, {"c": "x"}]}, "flag": True}})

    assert audit.diff(old, same, fields=_SETTINGS_FIELDS) == {}
    change = audit.diff(old, deep, fields=_SETTINGS_FIELDS)["settings"]
    assert change.old == base
    assert change.new == {"a": {"b": [1, 2, {"c": "x"}]}, "flag": True}


def test_diff_is_json_serializable(ledger: Ledger) -> None:
    key = _key(ledger)
    for changes in (AUDIT.diff(None, key), AUDIT.diff(key, None), AUDIT.diff(None, _user(ledger))):
        text = json.dumps(audit.diff_json(changes))
        assert json.loads(text) == audit.diff_json(changes)
    assert AUDIT.diff(None, key)["scopes"].new == ["all"]


def test_bytes_and_addresses_become_text() -> None:
    assert (
        audit.diff(
            None,
            _Settings(id=uuid.UUID(int=1), settings=None, token=b"\x00\xff" * 4, touched=_T0),
            fields={**_SETTINGS_FIELDS, "token": audit.TRACK},
        )["token"].new
        == "AP8A_wD_AP8="
    )


def test_diff_refuses_nonsense() -> None:
    with pytest.raises(TypeError):
        AUDIT.diff(None, None)
    with pytest.raises(audit.errors.UnclassifiedField):
        audit.diff(
            None,
            _Settings(id=uuid.UUID(int=1), settings=1, token=b"", touched=_T0),
            fields={"id": audit.TRACK},
        )


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=3)
    ),
    max_leaves=8,
)


@given(old=_json, new=_json)
def test_settings_appear_exactly_when_they_differ(old: JsonValue, new: JsonValue) -> None:
    ident = uuid.UUID(int=7)
    before = _Settings(id=ident, settings=old, token=b"same", touched=_T0)
    after = _Settings(id=ident, settings=new, token=b"same", touched=_T0)

    changes = audit.diff(before, after, fields=_SETTINGS_FIELDS)

    # Differ as JSON documents (and jsonb) differ: a boolean is never the number it
    # equals in Python (False == 0), at any depth; key order does not matter.
    differ = json.dumps(old, sort_keys=True) != json.dumps(new, sort_keys=True)
    assert ("settings" in changes) == differ
    assert json.loads(json.dumps(audit.diff_json(changes))) == audit.diff_json(changes)
