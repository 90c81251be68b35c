"""Challenge and token: thin routes over AuthService."""

from __future__ import annotations

from fastapi import APIRouter

from .deps import Now, Svc
from .schemas import ChallengeRequest, NonceOut, TokenOut, TokenRequest

router = APIRouter(prefix="/v1/auth", tags=["auth"])


@router.post("/challenge")
async def challenge(body: ChallengeRequest, svc: Svc, now: Now) -> NonceOut:
    """A single-use challenge for the device to sign (the 'letterlock v1 auth' statement)."""
    nonce = await svc.auth.challenge(body.device_id, now)
    return NonceOut(nonce=nonce.nonce, expires_at=nonce.expires_at)


@router.post("/token")
async def token(body: TokenRequest, svc: Svc, now: Now) -> TokenOut:
    """Exchange a signed challenge for a short-lived bearer token bound to the device."""
    issued = await svc.auth.token(body.device_id, body.nonce, body.signature, now)
    return TokenOut(token=issued.token, expires_at=issued.expires_at)
