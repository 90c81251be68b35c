"""What a client of the transparency API does with its answers: decode and verify them
with letterlock.transparency against the pinned log key."""

from __future__ import annotations

from httpx2 import Client as TestClient

from letterlock.transparency import (
    ConsistencyProof,
    LogEntry,
    LogVerifier,
    ProvenEntry,
    SignedTreeHead,
)

from ..helpers import Device, unb64


def pinned_key(client: TestClient) -> bytes:
    return unb64(client.get("/v1/transparency/key").json()["public_key"])


def head(client: TestClient, since: int = 0) -> tuple[SignedTreeHead, ConsistencyProof | None]:
    response = client.get("/v1/transparency/head", params={"since": since})
    assert response.status_code == 200, response.text
    body = response.json()
    proof = body["consistency"]
    return (SignedTreeHead.from_bytes(unb64(body["tree_head"])),
            ConsistencyProof.from_bytes(unb64(proof)) if proof is not None else None)


def all_entries(client: TestClient, headers: dict[str, str],
                limit: int = 1000) -> tuple[SignedTreeHead, list[LogEntry]]:
    """The whole log through /entries, page by page; the last page's head."""
    entries: list[LogEntry] = []
    while True:
        body = client.get("/v1/transparency/entries", headers=headers,
                          params={"start": len(entries), "limit": limit}).json()
        sth = SignedTreeHead.from_bytes(unb64(body["tree_head"]))
        for item in body["entries"]:
            assert item["index"] == len(entries)
            entries.append(LogEntry.from_bytes(unb64(item["entry"])))
        if len(entries) >= sth.tree_size or not body["entries"]:
            return sth, entries


def account(client: TestClient, viewer: Device, handle: str, after: int = -1,
            limit: int = 100) -> tuple[SignedTreeHead, list[ProvenEntry]]:
    response = client.get(f"/v1/transparency/accounts/{handle}", headers=viewer.headers,
                          params={"after": after, "limit": limit})
    assert response.status_code == 200, response.text
    body = response.json()
    proven = [ProvenEntry.from_bytes(unb64(item["proven"])) for item in body["entries"]]
    assert [item["index"] for item in body["entries"]] == [p.index for p in proven]
    return SignedTreeHead.from_bytes(unb64(body["tree_head"])), proven


def check_proven(verifier: LogVerifier, sth: SignedTreeHead, proven: ProvenEntry,
                 handle: str) -> None:
    """What a client checks of one ProvenEntry (after :func:`follow` to ``sth``): the
    entry is included under the head it holds, and the opening opens it for ``handle``."""
    verifier.verify_inclusion(proven.entry, proven.proof, sth)
    assert proven.opening.handle == handle
    proven.opening.check(proven.entry.handle_commitment)


def follow(client: TestClient, verifier: LogVerifier) -> SignedTreeHead:
    """Move ``verifier`` to the log's current head with a served consistency proof."""
    held = verifier.latest
    sth, proof = head(client, held.tree_size if held else 0)
    if held is not None and held.tree_size == 0 and sth.tree_size > 0:
        # The API serves no proof from the empty tree (it is a prefix of every tree, and
        # the proof is empty); the verifier wants one all the same.
        assert proof is None
        proof = ConsistencyProof(0, sth.tree_size, ())
    verifier.update(sth, proof)
    return sth
