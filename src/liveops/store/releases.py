"""The release aggregate: releases, their checklist items, approvals and overrides.

Methods that change state take the caller's write :class:`Connection` (so the change and its
audit event commit together); readers open their own short transaction unless given one.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Engine, RowMapping, func, select, update

from liveops.core.release import (
    Approval,
    ApprovalPolicy,
    ChecklistItem,
    Decision,
    Override,
    ReleaseRecord,
)
from liveops.store.db import connect
from liveops.store.registry import utc
from liveops.store.release_tables import (
    release_approvals,
    release_items,
    release_overrides,
    releases,
)

__all__ = ["ReleaseStore"]

_ID_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"  # no 0/o, 1/l/i: ids are read and typed


class ReleaseStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    # --- writes ---------------------------------------------------------------------------

    def new_id(self, conn: Connection) -> str:
        """A fresh short release id such as ``rl7k2qx``."""
        while True:
            rid = "rl" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(5))
            if conn.execute(select(releases.c.id).where(releases.c.id == rid)).first() is None:
                return rid

    def insert(self, conn: Connection, rel: ReleaseRecord, items: Sequence[ChecklistItem]) -> None:
        conn.execute(
            releases.insert().values(
                id=rel.id,
                service=rel.service,
                version=rel.version,
                created_by=rel.created_by,
                created_at=rel.created_at,
                author=rel.author,
                policy=rel.policy.to_dict(),
                rollout_plan=dict(rel.rollout_plan) if rel.rollout_plan else None,
                notes=rel.notes,
                notes_edited=rel.notes_edited,
                decision=None,
            )
        )
        conn.execute(
            release_items.insert(),
            [_item_values(rel.id, pos, item) for pos, item in enumerate(items, start=1)],
        )

    def add_item(self, conn: Connection, release_id: str, item: ChecklistItem) -> None:
        """Append an item a draft made before it existed lacks (a checklist grows)."""
        last = conn.execute(
            select(func.max(release_items.c.position)).where(
                release_items.c.release_id == release_id
            )
        ).scalar()
        conn.execute(release_items.insert().values(_item_values(release_id, (last or 0) + 1, item)))

    def put_item(self, conn: Connection, release_id: str, item: ChecklistItem) -> None:
        """Replace one checklist item's state, detail, evidence and who/when."""
        conn.execute(
            update(release_items)
            .where(release_items.c.release_id == release_id, release_items.c.key == item.key)
            .values(
                state=item.state,
                detail=item.detail,
                evidence=dict(item.evidence),
                by=item.by,
                at=item.at,
            )
        )

    def add_approval(self, conn: Connection, release_id: str, approval: Approval) -> None:
        conn.execute(
            release_approvals.insert().values(
                release_id=release_id,
                approver=approval.approver,
                override=approval.override,
                group_name=approval.group,
                at=approval.at,
                comment=approval.comment,
            )
        )

    def put_override(self, conn: Connection, release_id: str, ov: Override) -> None:
        """Insert the override of ``ov.item``, or replace it (a new justification, approved
        or not)."""
        key = (release_overrides.c.release_id == release_id) & (release_overrides.c.item == ov.item)
        values = {
            "justification": ov.justification,
            "requested_by": ov.requested_by,
            "requested_at": ov.requested_at,
            "approved_by": ov.approved_by,
            "approved_at": ov.approved_at,
        }
        if conn.execute(select(release_overrides.c.item).where(key)).first() is None:
            conn.execute(
                release_overrides.insert().values(release_id=release_id, item=ov.item, **values)
            )
        else:
            conn.execute(update(release_overrides).where(key).values(**values))

    def set_notes(self, conn: Connection, release_id: str, text: str, *, edited: bool) -> None:
        conn.execute(
            update(releases)
            .where(releases.c.id == release_id)
            .values(notes=text, notes_edited=edited)
        )

    def set_decision(self, conn: Connection, release_id: str, decision: Decision) -> None:
        conn.execute(
            update(releases).where(releases.c.id == release_id).values(decision=decision.to_dict())
        )

    # --- reads ----------------------------------------------------------------------------

    def get(self, release_id: str, conn: Connection | None = None) -> ReleaseRecord | None:
        row = self._first(select(releases).where(releases.c.id == release_id), conn)
        return _release(row) if row else None

    def list_releases(
        self, service: str | None = None, version: int | None = None
    ) -> list[ReleaseRecord]:
        """Releases, newest first."""
        q = select(releases).order_by(releases.c.created_at.desc(), releases.c.id)
        if service is not None:
            q = q.where(releases.c.service == service)
        if version is not None:
            q = q.where(releases.c.version == version)
        with connect(self._engine, write=False) as conn:
            return [_release(r) for r in conn.execute(q).mappings()]

    def items(self, release_id: str, conn: Connection | None = None) -> list[ChecklistItem]:
        q = (
            select(release_items)
            .where(release_items.c.release_id == release_id)
            .order_by(release_items.c.position)
        )
        return [_item(r) for r in self._all(q, conn)]

    def approvals(self, release_id: str, conn: Connection | None = None) -> list[Approval]:
        q = (
            select(release_approvals)
            .where(release_approvals.c.release_id == release_id)
            .order_by(release_approvals.c.at, release_approvals.c.approver)
        )
        return [
            Approval(
                approver=r["approver"],
                group=r["group_name"],
                at=utc(r["at"]),
                comment=r["comment"],
                override=bool(r["override"]),
            )
            for r in self._all(q, conn)
        ]

    def overrides(self, release_id: str, conn: Connection | None = None) -> list[Override]:
        q = (
            select(release_overrides)
            .where(release_overrides.c.release_id == release_id)
            .order_by(release_overrides.c.item)
        )
        return [
            Override(
                item=r["item"],
                justification=r["justification"],
                requested_by=r["requested_by"],
                requested_at=utc(r["requested_at"]),
                approved_by=r["approved_by"],
                approved_at=None if r["approved_at"] is None else utc(r["approved_at"]),
            )
            for r in self._all(q, conn)
        ]

    def _first(self, q: Any, conn: Connection | None) -> RowMapping | None:
        rows = self._all(q, conn)
        return rows[0] if rows else None

    def _all(self, q: Any, conn: Connection | None) -> list[RowMapping]:
        if conn is not None:
            return list(conn.execute(q).mappings())
        with connect(self._engine, write=False) as c:
            return list(c.execute(q).mappings())


def _item_values(release_id: str, position: int, item: ChecklistItem) -> dict[str, Any]:
    return {
        "release_id": release_id,
        "key": item.key,
        "position": position,
        "kind": item.kind,
        "state": item.state,
        "detail": item.detail,
        "evidence": dict(item.evidence),
        "by": item.by,
        "at": item.at,
    }


def _release(r: RowMapping) -> ReleaseRecord:
    decision = r["decision"]
    return ReleaseRecord(
        id=r["id"],
        service=r["service"],
        version=int(r["version"]),
        created_by=r["created_by"],
        created_at=utc(r["created_at"]),
        author=r["author"],
        policy=ApprovalPolicy.from_dict(r["policy"]),
        rollout_plan=dict(r["rollout_plan"]) if r["rollout_plan"] else None,
        notes=r["notes"],
        notes_edited=bool(r["notes_edited"]),
        decision=Decision.from_dict(decision) if decision else None,
    )


def _item(r: RowMapping) -> ChecklistItem:
    return ChecklistItem(
        key=r["key"],
        kind=r["kind"],
        state=r["state"],
        detail=r["detail"],
        evidence=dict(r["evidence"] or {}),
        by=r["by"],
        at=None if r["at"] is None else utc(r["at"]),
    )
