"""KeyPackage directory: thin routes over KeyPackageService."""

from __future__ import annotations

from fastapi import APIRouter

from letterlock.server.services.transparency import DeviceProof

from .deps import CurrentDevice, Now, Svc
from .schemas import (
    ClaimedKeyPackageOut,
    ClaimResponse,
    PoolStatusOut,
    TransparencyProofOut,
    UploadKeyPackages,
)

router = APIRouter(prefix="/v1", tags=["keypackages"])


@router.post("/keypackages")
async def upload(body: UploadKeyPackages, svc: Svc, now: Now,
                 device: CurrentDevice) -> PoolStatusOut:
    """Publish one-time KeyPackages (and optionally replace the last-resort one)."""
    pool = await svc.keypackages.upload(device, body.key_packages, body.last_resort, now)
    return PoolStatusOut(remaining=pool.remaining, low=pool.low)


@router.get("/keypackages")
async def pool_status(svc: Svc, device: CurrentDevice) -> PoolStatusOut:
    """How many one-time KeyPackages the caller has left on the server."""
    pool = await svc.keypackages.status(device)
    return PoolStatusOut(remaining=pool.remaining, low=pool.low)


@router.post("/accounts/{handle}/keypackages/claim")
async def claim(handle: str, svc: Svc, now: Now, _device: CurrentDevice) -> ClaimResponse:
    """One KeyPackage per device of ``handle``; one-time ones are never handed out twice.

    Each comes with the device's key transparency entry, its opening and an inclusion
    proof against a signed tree head: clients refuse a KeyPackage whose leaf signature
    key is not the logged one."""
    claimed = await svc.keypackages.claim(handle, now)
    return ClaimResponse(handle=handle, key_packages=[
        ClaimedKeyPackageOut(device_id=c.device_id, key_package=c.key_package,
                             last_resort=c.last_resort, remaining=c.pool.remaining,
                             low=c.pool.low, transparency=_proof(c.transparency))
        for c in claimed])


def _proof(proof: DeviceProof | None) -> TransparencyProofOut | None:
    if proof is None:
        return None
    return TransparencyProofOut(index=proof.index, proven=proof.proven.to_bytes(),
                                tree_head=proof.tree_head.to_bytes())
