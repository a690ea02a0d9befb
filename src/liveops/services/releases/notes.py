"""Release notes: the draft made when a release is created, edits, and the vague-notes flags."""

from __future__ import annotations

from liveops.core.diff import diff_versions
from liveops.core.hashing import content_hash
from liveops.core.records import EvalRunRecord, VersionRecord
from liveops.core.release import ReleaseRecord
from liveops.core.release_notes import NoteFlag, check_notes, draft_notes
from liveops.errors import ConflictError, InvalidInputError
from liveops.store import Store

__all__ = ["baseline_of", "draft_for", "notes_flags", "set_notes"]

MAX_NOTES = 100_000  # characters: notes are read by people


def baseline_of(store: Store, version: VersionRecord) -> VersionRecord | None:
    """What the version replaces: the production version when it is another one, else the
    previous version, else nothing (a first version)."""
    number = store.registry.get_alias(version.service, "production")
    if number is None or number == version.number:
        earlier = [v.number for v in store.registry.list_versions(version.service)]
        earlier = [n for n in earlier if n < version.number]
        number = max(earlier) if earlier else None
    return None if number is None else store.registry.get_version(version.service, number)


def draft_for(
    store: Store,
    version: VersionRecord,
    run: EvalRunRecord | None,
    rollout_plan: dict[str, object] | None,
) -> str:
    """The first draft: ``versions diff`` against what it replaces, and the evaluation."""
    base = baseline_of(store, version)
    new: list[str] = []
    fixed: list[str] = []
    if run is not None and base is not None:
        wrong = {c.case_id for c in store.evaluation.cases(run.id, "eval") if c.correct is False}
        base_runs = [
            r
            for r in store.evaluation.list_runs(base.service, base.number, limit=20)
            if r.suite_hash == run.suite_hash
        ]
        if base_runs:
            cases = store.evaluation.cases(base_runs[0].id, "eval")
            base_wrong = {c.case_id for c in cases if c.correct is False}
            new, fixed = sorted(wrong - base_wrong), sorted(base_wrong - wrong)
    return draft_notes(
        ref=version.ref,
        baseline=base.ref if base else None,
        diff=diff_versions(base, version) if base else None,
        config=version.config,
        summary=run.summary if run else None,
        new_failures=new,
        fixed_failures=fixed,
        rollout_plan=rollout_plan,
    )


def notes_flags(rel: ReleaseRecord) -> list[NoteFlag]:
    return check_notes(rel.notes)


def set_notes(store: Store, rel: ReleaseRecord, text: str, *, actor: str) -> ReleaseRecord:
    """Replace the notes (an edit); the audit event keeps the hashes of the old and new text."""
    if rel.decision is not None:
        raise ConflictError(
            f"release {rel.id} is decided ({rel.decision.kind}); its notes are part of the record",
            hint=f"create a new release of {rel.ref} to change them",
        )
    if not text.strip():
        raise InvalidInputError("the notes are empty", hint="write what changed, by how much")
    if len(text) > MAX_NOTES:
        raise InvalidInputError(f"the notes are {len(text)} characters (at most {MAX_NOTES})")
    with store.write() as conn:
        current = store.releases.get(rel.id, conn)
        assert current is not None
        store.releases.set_notes(conn, rel.id, text, edited=True)
        store.audit.append(
            conn,
            actor=actor,
            action="release.notes_edited",
            object_type="release",
            object_id=rel.id,
            data={
                "before": content_hash({"notes": current.notes}),
                "after": content_hash({"notes": text}),
                "flags": [f.code for f in check_notes(text)],
            },
        )
    updated = store.releases.get(rel.id)
    assert updated is not None
    return updated
