"""Liveness and readiness: the process answers and the database does too."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from .deps import Svc

router = APIRouter(tags=["operations"])


@router.get("/health")
async def health(svc: Svc) -> dict[str, str]:
    async with svc.store.transaction() as conn:
        await conn.execute(text("SELECT 1"))
    return {"status": "ok", "database": svc.store.dialect}
