"""The service over HTTP, against the real database: auth, handlers, status codes, audit."""

from __future__ import annotations

import datetime
import socket
import uuid
from collections.abc import MutableMapping
from typing import Any

import asyncpg
import httpx
import pytest
from workspaces.db import Queries, UserStatus

from tests._proxy import Proxy
from tests.conftest import CLIENT_IP, client_for
from workspaces_service.app import create_app
from workspaces_service.keys import issue_key
from workspaces_service.seed import Seeded, seed_user


def _auth(seeded: Seeded) -> dict[str, str]:
    return {"authorization": f"Bearer {seeded.key.token}"}


async def _create(http: httpx.AsyncClient, who: Seeded, name: str) -> httpx.Response:
    return await http.post(
        "/workspaces",
        json={"organization_id": str(who.organization.id), "name": name},
        headers=_auth(who),
    )


async def _audit_rows(dsn: str, resource_id: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        rows: list[asyncpg.Record] = await conn.fetch(
            "SELECT * FROM audit_logs WHERE resource_id = $1 ORDER BY time", resource_id
        )
        return rows
    finally:
        await conn.close()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _texts(logs: list[MutableMapping[str, Any]], responses: list[httpx.Response]) -> str:
    return "\n".join([*(repr(e) for e in logs), *(r.text for r in responses)])


# -- the middleware and the audit entries -----------------------------------------------------


async def test_a_change_is_audited_with_the_requests_id_ip_and_user_agent(
    client: httpx.AsyncClient, bare: Queries, db_dsn: str
) -> None:
    alice = await seed_user(bare, "alice")
    request_id = uuid.uuid4()
    response = await client.post(
        "/workspaces",
        json={"organization_id": str(alice.organization.id), "name": "dev"},
        headers={**_auth(alice), "x-request-id": str(request_id), "user-agent": "svc-test/1"},
    )
    assert response.status_code == 201, response.text
    assert response.headers["x-request-id"] == str(request_id)
    [row] = await _audit_rows(db_dsn, response.json()["id"])
    assert row["request_id"] == request_id
    assert str(row["ip"]) == CLIENT_IP
    assert row["user_agent"] == "svc-test/1"
    assert row["user_id"] == alice.user.id
    assert row["action"] == "create"


async def test_a_request_without_an_id_gets_one_and_its_entries_carry_it(
    client: httpx.AsyncClient, bare: Queries, db_dsn: str
) -> None:
    alice = await seed_user(bare, "alice")
    created = (await _create(client, alice, "dev")).json()
    response = await client.patch(
        f"/workspaces/{created['id']}", json={"name": "prod"}, headers=_auth(alice)
    )
    assert response.status_code == 200, response.text
    given = uuid.UUID(response.headers["x-request-id"])
    rows = await _audit_rows(db_dsn, created["id"])
    assert [r["action"] for r in rows] == ["create", "write"]
    assert rows[1]["request_id"] == given
    assert rows[0]["request_id"] != given


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Basic dXNlcjpwYXNz",
        "Bearer ",
        "Bearer not-a-key",
        "Bearer abcdefghij-" + "x" * 31,
    ],
)
async def test_a_missing_or_malformed_key_is_401(
    client: httpx.AsyncClient, header: str | None
) -> None:
    headers = {} if header is None else {"authorization": header}
    response = await client.get("/workspaces", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["error"] == "unauthorized"


async def test_a_forged_secret_an_unknown_id_and_an_expired_key_are_401_alike(
    client: httpx.AsyncClient, bare: Queries, logs: list[MutableMapping[str, Any]]
) -> None:
    alice = await seed_user(bare, "alice")
    key_id, secret = alice.key.token.split("-")
    forged = f"{key_id}-{secret[::-1]}"
    unknown = f"{'Z' * 10}-{secret}"
    past = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=2)
    expired = await issue_key(bare, alice.user.id, now=past)
    responses = []
    for token in (forged, unknown, expired.token):
        response = await client.get("/workspaces", headers={"authorization": f"Bearer {token}"})
        assert response.status_code == 401, token
        responses.append(response)
    # One answer for every reason: a caller cannot tell an existing id from an unknown one.
    assert len({(r.json()["error"], r.json()["detail"]) for r in responses}) == 1
    assert (await client.get("/workspaces", headers=_auth(alice))).status_code == 200
    leaked = _texts(logs, responses)
    for token in (forged, unknown, expired.token, alice.key.token):
        assert token.split("-")[1] not in leaked


async def test_a_key_of_a_suspended_user_is_401(client: httpx.AsyncClient, bare: Queries) -> None:
    alice = await seed_user(bare, "alice")
    await bare.update_user_status(
        id=alice.user.id,
        status=UserStatus.SUSPENDED,
        updated_at=datetime.datetime.now(datetime.UTC),
    )
    assert (await client.get("/workspaces", headers=_auth(alice))).status_code == 401


async def test_healthz_needs_no_key(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


# -- the handlers ----------------------------------------------------------------------------------


async def test_list_get_rename_and_delete_my_workspace(
    client: httpx.AsyncClient, bare: Queries
) -> None:
    alice = await seed_user(bare, "alice")
    first = (await _create(client, alice, "one")).json()
    await _create(client, alice, "two")
    listed = await client.get("/workspaces", headers=_auth(alice))
    assert [w["name"] for w in listed.json()["workspaces"]] == ["two", "one"]
    assert (await client.get("/workspaces?limit=1", headers=_auth(alice))).json()["workspaces"][0][
        "name"
    ] == "two"

    url = f"/workspaces/{first['id']}"
    assert (await client.get(url, headers=_auth(alice))).json()["name"] == "one"
    renamed = await client.patch(url, json={"name": "uno"}, headers=_auth(alice))
    assert renamed.status_code == 200
    assert (await bare.get_workspace_by_id(id=uuid.UUID(first["id"]))).name == "uno"

    assert (await client.delete(url, headers=_auth(alice))).status_code == 204
    assert (await client.get(url, headers=_auth(alice))).status_code == 404
    assert (await client.delete(url, headers=_auth(alice))).status_code == 404
    listed = await client.get("/workspaces", headers=_auth(alice))
    assert [w["name"] for w in listed.json()["workspaces"]] == ["two"]


async def test_another_users_workspace_is_404_like_a_missing_one(
    client: httpx.AsyncClient, bare: Queries
) -> None:
    alice = await seed_user(bare, "alice")
    bob = await seed_user(bare, "bob", organization=alice.organization)
    hers = (await _create(client, alice, "private")).json()
    url = f"/workspaces/{hers['id']}"
    missing = f"/workspaces/{uuid.uuid4()}"
    for method, body in (("GET", None), ("PATCH", {"name": "mine"}), ("DELETE", None)):
        denied = await client.request(method, url, json=body, headers=_auth(bob))
        absent = await client.request(method, missing, json=body, headers=_auth(bob))
        assert denied.status_code == absent.status_code == 404, method
        assert {k: v for k, v in denied.json().items() if k != "request_id"} == {
            k: v for k, v in absent.json().items() if k != "request_id"
        }
    assert (await client.get("/workspaces", headers=_auth(bob))).json() == {"workspaces": []}
    assert (await bare.get_workspace_by_id(id=uuid.UUID(hers["id"]))).name == "private"


async def test_creating_in_an_organization_one_is_not_in_is_404(
    client: httpx.AsyncClient, bare: Queries
) -> None:
    alice = await seed_user(bare, "alice")
    carol = await seed_user(bare, "carol")
    response = await client.post(
        "/workspaces",
        json={"organization_id": str(carol.organization.id), "name": "dev"},
        headers=_auth(alice),
    )
    assert response.status_code == 404


async def test_a_read_only_scoped_key_cannot_create(
    client: httpx.AsyncClient, bare: Queries
) -> None:
    alice = await seed_user(bare, "alice", key_scopes=("application_connect",))
    assert (await client.get("/workspaces", headers=_auth(alice))).status_code == 200
    assert (await _create(client, alice, "dev")).status_code == 404


async def test_a_duplicate_name_is_409_on_create_and_on_rename(
    client: httpx.AsyncClient, bare: Queries
) -> None:
    alice = await seed_user(bare, "alice")
    assert (await _create(client, alice, "dev")).status_code == 201
    duplicate = await _create(client, alice, "DEV")
    assert duplicate.status_code == 409
    assert duplicate.json()["error"] == "conflict"
    assert duplicate.json()["constraint"] == "workspaces_owner_id_lower_name_key"
    other = (await _create(client, alice, "other")).json()
    renamed = await client.patch(
        f"/workspaces/{other['id']}", json={"name": "dev"}, headers=_auth(alice)
    )
    assert renamed.status_code == 409
    assert (await bare.get_workspace_by_id(id=uuid.UUID(other["id"]))).name == "other"


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("POST", "/workspaces", b"{not json", 400),
        ("POST", "/workspaces", b'{"name": "dev"}', 422),
        ("POST", "/workspaces", b'{"organization_id": "nope", "name": "dev"}', 422),
        ("POST", "/workspaces", b'{"organization_id": "ORG", "name": ""}', 422),
        ("GET", "/workspaces/not-a-uuid", None, 422),
        ("GET", "/workspaces?limit=0", None, 422),
        ("GET", "/workspaces?limit=ten", None, 422),
        ("PATCH", "/workspaces/WS", b'{"name": "x", "extra": 1}', 422),
    ],
)
async def test_bad_input_is_400_or_422(
    client: httpx.AsyncClient,
    bare: Queries,
    method: str,
    path: str,
    body: bytes | None,
    status: int,
) -> None:
    alice = await seed_user(bare, "alice")
    ws = (await _create(client, alice, "dev")).json()
    path = path.replace("WS", ws["id"])
    body = None if body is None else body.replace(b"ORG", str(alice.organization.id).encode())
    response = await client.request(method, path, content=body, headers=_auth(alice))
    assert response.status_code == status, response.text


async def test_a_name_the_schema_rejects_is_409(client: httpx.AsyncClient, bare: Queries) -> None:
    alice = await seed_user(bare, "alice")
    response = await _create(client, alice, "no spaces allowed")
    assert response.status_code == 409
    assert response.json()["constraint"] == "workspaces_name_check"


# -- the database going away ---------------------------------------------------------------------


async def test_an_unreachable_database_is_503_and_nothing_leaks_the_dsn(
    bare: Queries, logs: list[MutableMapping[str, Any]]
) -> None:
    alice = await seed_user(bare, "alice")
    password = "pw-" + uuid.uuid4().hex
    dsn = f"postgresql://svc:{password}@127.0.0.1:{_closed_port()}/workspaces"
    app = create_app(dsn)
    async with app.router.lifespan_context(app), client_for(app) as http:
        responses = [
            await http.get("/workspaces", headers=_auth(alice)),
            await http.get("/healthz"),
        ]
    assert [r.status_code for r in responses] == [503, 503]
    assert responses[0].json()["error"] == "unavailable"
    leaked = _texts(logs, responses)
    assert password not in leaked
    assert dsn not in leaked
    assert alice.key.token not in leaked


async def test_a_database_that_goes_away_is_503_and_the_service_recovers_without_restart(
    bare: Queries, db_dsn: str, logs: list[MutableMapping[str, Any]]
) -> None:
    alice = await seed_user(bare, "alice")
    target = int(db_dsn.rsplit(":", 1)[1].split("/", 1)[0])
    proxy = Proxy(target)
    await proxy.start()
    app = create_app(proxy.dsn(db_dsn), options={"min_size": 1})
    try:
        async with app.router.lifespan_context(app), client_for(app) as http:
            assert (await _create(http, alice, "before")).status_code == 201
            await proxy.cut()
            during = [
                await _create(http, alice, "during"),
                await http.get("/workspaces", headers=_auth(alice)),
            ]
            assert [r.status_code for r in during] == [503, 503]
            assert all(r.json()["error"] == "unavailable" for r in during)
            await proxy.restore()
            assert (await _create(http, alice, "after")).status_code == 201
    finally:
        await proxy.cut()
    names = {
        w.name
        for w in await bare.list_workspaces_by_owner_id(
            owner_id=alice.user.id, limit_rows=10, offset_rows=0
        )
    }
    assert names == {"before", "after"}
    assert db_dsn not in _texts(logs, during)


async def test_a_connection_lost_during_commit_is_503_saying_the_outcome_is_unknown(
    bare: Queries, db_dsn: str
) -> None:
    alice = await seed_user(bare, "alice")
    target = int(db_dsn.rsplit(":", 1)[1].split("/", 1)[0])
    proxy = Proxy(target)
    await proxy.start()
    app = create_app(proxy.dsn(db_dsn), options={"min_size": 1})
    try:
        async with app.router.lifespan_context(app), client_for(app) as http:
            created = (await _create(http, alice, "dev")).json()
            proxy.drop_on = b"COMMIT"
            response = await http.patch(
                f"/workspaces/{created['id']}", json={"name": "prod"}, headers=_auth(alice)
            )
            assert response.status_code == 503, response.text
            assert response.json()["error"] == "commit_outcome_unknown"
            assert "may or may not" in response.json()["detail"]
            assert proxy.drop_on is None, "the rename never sent COMMIT"
    finally:
        await proxy.cut()
