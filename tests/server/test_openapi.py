"""The OpenAPI document lists every route (FastAPI generates it from the routes)."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from letterlock.server.app import create_app
from letterlock.server.settings import Settings


def test_openapi_lists_routes(tmp_path: Path) -> None:
    with TestClient(create_app(Settings(data_dir=tmp_path))) as client:
        paths = client.get("/openapi.json").json()["paths"]
        assert client.get("/health").json() == {"status": "ok", "database": "sqlite"}
    assert {"/health", "/v1/accounts", "/v1/accounts/{handle}/devices",
            "/v1/accounts/{handle}/nonces", "/v1/devices/{device_id}/remove",
            "/v1/auth/challenge", "/v1/auth/token", "/v1/keypackages",
            "/v1/accounts/{handle}/keypackages/claim", "/v1/messages", "/v1/mailbox",
            "/v1/mailbox/ack"} <= set(paths)
