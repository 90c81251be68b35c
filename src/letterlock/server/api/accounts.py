"""Accounts and devices: thin routes over AccountService."""

from __future__ import annotations

from fastapi import APIRouter, status

from .deps import CurrentDevice, Now, Svc
from .schemas import (
    AccountCreated,
    AddDeviceRequest,
    DeviceList,
    DeviceOut,
    NonceOut,
    NonceRequest,
    RegisterRequest,
    RemoveDeviceRequest,
)

router = APIRouter(prefix="/v1", tags=["accounts"])


@router.post("/accounts", status_code=status.HTTP_201_CREATED)
async def register(body: RegisterRequest, svc: Svc, now: Now) -> AccountCreated:
    """Create an account with its first device (open registration or an invite code)."""
    device = await svc.accounts.register(body.handle, body.signature_key, body.cipher_suite,
                                         body.signature, now, invite=body.invite)
    return AccountCreated(device_id=device.device_id, handle=device.handle,
                          log_public_key=svc.transparency.public_key)


@router.get("/accounts/{handle}/devices")
async def list_devices(handle: str, svc: Svc, _device: CurrentDevice) -> DeviceList:
    """The account's devices and their public keys."""
    devices = await svc.accounts.list_devices(handle)
    return DeviceList(handle=handle, devices=[
        DeviceOut(device_id=d.device_id, signature_key=d.signature_key,
                  cipher_suite=d.cipher_suite, created_at=d.created_at) for d in devices])


@router.post("/accounts/{handle}/nonces")
async def approval_nonce(handle: str, body: NonceRequest, svc: Svc, now: Now) -> NonceOut:
    """A single-use nonce to sign an add-device or remove-device statement over."""
    nonce = await svc.accounts.nonce(handle, body.purpose, now)
    return NonceOut(nonce=nonce.nonce, expires_at=nonce.expires_at)


@router.post("/accounts/{handle}/devices", status_code=status.HTTP_201_CREATED)
async def add_device(handle: str, body: AddDeviceRequest, svc: Svc, now: Now) -> AccountCreated:
    """Add a device, approved by a signature of an existing device of the account."""
    device = await svc.accounts.add_device(handle, body.signature_key, body.cipher_suite,
                                           body.approver_device_id, body.nonce, body.approval,
                                           body.possession, now)
    return AccountCreated(device_id=device.device_id, handle=device.handle,
                          log_public_key=svc.transparency.public_key)


@router.post("/devices/{device_id}/remove", status_code=status.HTTP_204_NO_CONTENT)
async def remove_device(device_id: str, body: RemoveDeviceRequest, svc: Svc, now: Now,
                        device: CurrentDevice) -> None:
    """Remove a device of the caller's account (itself or another), revoking its tokens."""
    await svc.accounts.remove_device(device.id, device_id, body.nonce, body.signature, now)
