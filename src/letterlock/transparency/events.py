"""What the monitor reports about an account's own entries in the log."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class UnknownDeviceAlert:
    """The log says the account gained a device (or a key) its owner does not know.

    Either the owner linked a device elsewhere and this client has not heard of it, or
    the server added a ghost device or substituted a key. ``known_device`` is True when
    the device id is known but the key is not (a key substitution).
    """

    index: int
    device_id: str
    signature_key: bytes
    cipher_suite: int
    timestamp: int
    known_device: bool


@dataclass(frozen=True, slots=True)
class DeviceRemoved:
    """The log says the account lost a device: worth showing to the owner."""

    index: int
    device_id: str
    timestamp: int


MonitorEvent = UnknownDeviceAlert | DeviceRemoved

__all__ = ["DeviceRemoved", "MonitorEvent", "UnknownDeviceAlert"]
