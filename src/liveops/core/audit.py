"""The audit chain: every change of state is an event whose hash covers the previous one.

Editing an event breaks its own hash; deleting one breaks the next event's link; removing the
last ones is caught by the stored head (count and last hash), which is updated in the same
transaction as each append. Whoever can rewrite the head as well can cut the chain off
unnoticed, so the head can be *anchored*: its sequence and hash kept outside the database
(:class:`Anchor`), and a later check demands that the chain still reaches and extends it.

>>> e1 = AuditEvent(1, "2026-01-01T00:00:00+00:00", "ann", "alias.set", "version", "svc@1")
>>> e1 = e1.sealed(GENESIS)
>>> e2 = AuditEvent(2, "2026-01-01T00:01:00+00:00", "bob", "alias.set", "version", "svc@2")
>>> e2 = e2.sealed(e1.hash)
>>> verify_chain([e1, e2], head_count=2, head_hash=e2.hash).ok
True
>>> verify_chain([e1], head_count=2, head_hash=e2.hash).ok
False
>>> verify_chain([e1], head_count=1, head_hash=e1.hash, anchor=Anchor(2, e2.hash)).ok
False
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from liveops.core.hashing import content_hash

GENESIS = "0" * 64


@dataclass(frozen=True)
class AuditEvent:
    seq: int
    time: str  # ISO 8601, UTC
    actor: str
    action: str  # e.g. "version.registered", "alias.set"
    object_type: str
    object_id: str
    reason: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    prev_hash: str = ""
    hash: str = ""

    def body(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "time": self.time,
            "actor": self.actor,
            "action": self.action,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "reason": self.reason,
            "data": self.data,
            "prev_hash": self.prev_hash,
        }

    def compute_hash(self) -> str:
        return content_hash(self.body())

    def sealed(self, prev_hash: str) -> AuditEvent:
        """This event linked to ``prev_hash``, with its own hash filled in."""
        linked = replace(self, prev_hash=prev_hash)
        return replace(linked, hash=linked.compute_hash())


_ANCHOR = re.compile(r"^\s*(\d+)\s*:\s*([0-9a-f]{64})\s*$")


@dataclass(frozen=True)
class Anchor:
    """A point of the chain kept outside the database: event ``seq`` had hash ``hash``
    (``0:000...`` is the empty chain)."""

    seq: int
    hash: str

    def __str__(self) -> str:
        return f"{self.seq}:{self.hash}"

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "hash": self.hash}

    @classmethod
    def parse(cls, text: str) -> Anchor | None:
        """``SEQ:HASH`` (64 lowercase hex digits), else None."""
        m = _ANCHOR.match(text)
        return cls(int(m.group(1)), m.group(2)) if m else None


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    events: int
    problems: list[str]
    anchor: Anchor | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ok": self.ok, "events": self.events, "problems": self.problems}
        if self.anchor is not None:
            out["anchor"] = self.anchor.to_dict()
        return out


def verify_chain(
    events: Iterable[AuditEvent],
    *,
    head_count: int | None,
    head_hash: str | None,
    anchor: Anchor | None = None,
) -> ChainReport:
    """Check each event's hash and link, the sequence, the stored head (``None``: the head row
    is gone) and, if given, that the chain still holds the anchored event."""
    problems: list[str] = []
    prev = GENESIS
    expected_seq = 1
    n = 0
    anchored = anchor is not None and anchor.seq == 0  # the empty chain is in every chain
    if anchor is not None and anchor.seq == 0 and anchor.hash != GENESIS:
        problems.append("the anchor names event 0, whose hash is always 0000... (a typo?)")
    for ev in events:
        n += 1
        if anchor is not None and ev.seq == anchor.seq:
            anchored = True
            if ev.hash != anchor.hash:
                problems.append(
                    f"event {ev.seq} has hash {ev.hash[:16]}... but the anchor says "
                    f"{anchor.hash[:16]}... (the chain was rewritten after the anchor)"
                )
        if ev.seq != expected_seq:
            problems.append(
                f"event {ev.seq}: expected sequence number {expected_seq} (missing events)"
            )
            expected_seq = ev.seq
        if ev.prev_hash != prev:
            problems.append(f"event {ev.seq}: its link does not match the previous event's hash")
        if ev.compute_hash() != ev.hash:
            problems.append(f"event {ev.seq}: its content does not match its hash (edited)")
        prev = ev.hash
        expected_seq += 1
    if head_count is None:
        problems.append(
            f"the audit head row is missing (deleted?); {n} events are stored, so nothing "
            "shows whether later ones were removed"
        )
    else:
        if n != head_count:
            problems.append(f"the head records {head_count} events but {n} are stored")
        if prev != (head_hash or GENESIS):
            problems.append("the last stored event is not the one the head records (truncated?)")
    if anchor is not None and not anchored:
        problems.append(
            f"the anchor is event {anchor.seq} but the chain has only {n} events "
            "(events after them were removed and the head rewritten?)"
        )
    return ChainReport(ok=not problems, events=n, problems=problems, anchor=anchor)
