"""A batch run from start to finish: checks, the run's state, the engine, the assembly, audit.

Everything that can be refused is refused before any row is scored: an unknown version, an
input whose format or required columns are wrong, an output that exists (without
``overwrite``), an unfinished run in the way (without ``resume`` or ``overwrite``). A run is
recorded in the audit log when it starts (with whether it logs its answers) and when it ends.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from liveops.core.serving.prediction import new_prediction_id
from liveops.errors import ConflictError, InvalidInputError, UsageError
from liveops.services.batch import parts
from liveops.services.batch.engines import make_engine
from liveops.services.batch.inputs import Chunk, InputFile, open_input
from liveops.services.batch.score import ScorerSpec, output_schema
from liveops.services.registry import get_service_spec, resolve_version
from liveops.store import Store

__all__ = ["BatchOptions", "BatchSummary", "run_batch"]

Progress = Callable[[int, int | None], None]  # rows done (this run and earlier), total or None
_ID_TYPES = {"string", "large_string", "int64", "int32", "int16", "int8", "uint64", "uint32"}
_ID_TYPES |= {"double", "float"}


@dataclass(frozen=True)
class BatchOptions:
    """What ``liveops batch`` was asked to do."""

    ref: str  # SERVICE, SERVICE@N or SERVICE@ALIAS (a bare service: its production version)
    input: Path
    output: Path
    rejects: Path | None = None  # default: OUTPUT's name + .rejects.jsonl
    id_column: str | None = None  # default: a column named "id", if the input has one
    chunk_rows: int = 50_000
    engine: str = "local"
    workers: int | None = None
    address: str | None = None
    log: bool = True
    resume: bool = False
    overwrite: bool = False
    actor: str = "unknown"


@dataclass
class BatchSummary:
    """What a run did (``--json`` prints :meth:`to_dict`)."""

    run_id: str
    version: str
    engine: str
    workers: int
    input: str
    output: str
    rejects: str | None
    log: bool
    chunks: int = 0
    resumed_chunks: int = 0  # finished by an earlier, interrupted run
    rows: int = 0
    scored: int = 0
    rejected: int = 0
    logged: int = 0
    decisions: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["rows_per_s"] = round(self.rows / self.seconds, 1) if self.seconds > 0 else None
        return out

    def add(self, stats: dict[str, Any]) -> None:
        self.chunks += 1
        self.rows += int(stats.get("rows", 0)) + int(stats.get("malformed", 0))
        self.scored += int(stats.get("scored", 0))
        self.rejected += int(stats.get("rejected", 0)) + int(stats.get("malformed", 0))
        self.logged += int(stats.get("logged", 0))
        for k, v in (stats.get("decisions") or {}).items():
            self.decisions[k] = self.decisions.get(k, 0) + int(v)


def run_batch(
    store: Store, project_dir: Path, options: BatchOptions, progress: Progress | None = None
) -> BatchSummary:
    """Score ``options.input`` with a version and write ``options.output``.

    Raises before any work on a bad request (see the module); a run interrupted later
    (Ctrl-C, a crash, a model that fails on a chunk) keeps its finished chunks, and the same
    command with ``resume=True`` continues it."""
    t0 = time.monotonic()
    ref = options.ref if "@" in options.ref else f"{options.ref}@production"
    record = resolve_version(store, ref)
    service = get_service_spec(store, record.service)
    output = options.output
    if parts.output_format(output) is None:
        raise UsageError(
            f"cannot tell the output format of {output.name}",
            hint="name the output .parquet, .csv or .jsonl",
        )
    work = parts.work_dir_of(output)
    state = _prepare(work, output, options)
    id_column = state["id_column"] if state else options.id_column
    source = open_input(options.input, id_column, service.inputs)
    if state is None and id_column is None and "id" in source.columns:
        id_column = "id"
    run_id = state["run_id"] if state else new_prediction_id(store.clock.now().timestamp())
    if state is not None:
        _check_resumable(state, record.number, source, options)
    chunk_rows = int(state["chunk_rows"]) if state else options.chunk_rows
    log = bool(state["log"]) if state else options.log
    state = state or {
        "run_id": run_id,
        "service": record.service,
        "version": record.number,
        "input": str(options.input.resolve()),
        "fingerprint": source.fingerprint(),
        "chunk_rows": chunk_rows,
        "id_column": id_column,
        "log": log,
    }
    parts.write_state(work, state)
    engine = make_engine(options.engine, options.workers, options.address, store)
    url = store.engine.url
    in_memory = url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")
    if in_memory and (engine.name == "ray" or engine.workers > 1):
        if engine.name == "ray":
            raise UsageError(
                "--engine ray cannot use an in-memory database (its workers could not open it)",
                hint="use a database file or PostgreSQL, or --engine local",
            )
        engine.workers = 1
    rejects = options.rejects or output.with_name(output.name + ".rejects.jsonl")
    summary = BatchSummary(
        run_id,
        f"{record.service}@{record.number}",
        engine.name,
        engine.workers,
        str(options.input),
        str(output),
        None,
        log,
    )
    _audit(store, options, "batch.resumed" if options.resume else "batch.started", state, {})
    id_type = _id_type(source, id_column)
    spec = ScorerSpec(
        database_url=store.engine.url.render_as_string(hide_password=False),
        artifacts_root=str(store.artifacts.root),
        project_dir=str(project_dir),
        service=record.service,
        number=record.number,
        run_id=run_id,
        log=log,
        work_dir=str(work),
        fmt=source.format,
        id_column=id_column,
        id_type=id_type,
    )
    earlier = parts.done_chunks(work)
    for stats in earlier.values():
        summary.add(stats)
    summary.resumed_chunks = len(earlier)
    total = _total_rows(source)
    seen = [0]  # chunk indices read: the last + 1 is the number of chunks

    def done(stats: dict[str, Any]) -> None:
        if "malformed" not in stats:
            stats = {**stats, "malformed": parts.malformed_count(work, int(stats["chunk"]))}
        summary.add(stats)
        if progress is not None:
            progress(summary.rows, total)

    engine.run(_feed(source, chunk_rows, frozenset(earlier), work, seen, done), spec, done)
    finished = parts.done_chunks(work)
    missing = [k for k in range(seen[0]) if k not in finished]
    if missing:  # an engine that returned without scoring everything: never assemble
        raise ConflictError(
            f"{len(missing)} chunk(s) were not scored (first: {missing[0]})",
            hint="rerun the same command with --resume",
        )
    classes = _classes_of(work, seen[0])
    schema = output_schema(id_column, _arrow_type(id_type), classes)
    _, n_rejects = parts.assemble(work, seen[0], output, rejects, schema)
    summary.rejects = str(rejects) if n_rejects else None
    summary.seconds = time.monotonic() - t0
    result = {k: summary.to_dict()[k] for k in ("rows", "scored", "rejected", "logged")}
    _audit(store, options, "batch.finished", state, result)
    return summary


def _prepare(work: Path, output: Path, options: BatchOptions) -> dict[str, Any] | None:
    """The state of the run to resume, or None for a new run (after the output checks)."""
    state = parts.read_state(work)
    if options.resume:
        if state is None:
            raise InvalidInputError(
                f"there is no unfinished run writing {output.name} to resume",
                hint="run the command without --resume",
            )
        return state
    if state is not None or work.exists():
        if not options.overwrite:
            raise ConflictError(
                f"an unfinished run writing {output.name} exists ({work.name})",
                hint="add --resume to finish it, or --overwrite to start again",
            )
        shutil.rmtree(work)
    if output.exists() and not options.overwrite:
        raise ConflictError(
            f"the output {output} exists", hint="choose another path, or add --overwrite"
        )
    return None


def _check_resumable(
    state: dict[str, Any], number: int, source: InputFile, options: BatchOptions
) -> None:
    if int(state["version"]) != number:
        raise ConflictError(
            f"the run being resumed scores {state['service']}@{state['version']}, but "
            f"{options.ref} is now @{number}",
            hint=f"resume with {state['service']}@{state['version']}, or --overwrite to restart",
        )
    if state["fingerprint"] != source.fingerprint() or state["input"] != str(
        options.input.resolve()
    ):
        raise ConflictError(
            f"the input changed since the run started ({state['input']})",
            hint="resume with the same, unchanged input, or --overwrite to start again",
        )


def _feed(
    source: InputFile,
    chunk_rows: int,
    skip: frozenset[int],
    work: Path,
    seen: list[int],
    done: Callable[[dict[str, Any]], None],
) -> Iterator[Chunk]:
    """The chunks to score; unreadable rows are written here, empty chunks finished here."""
    for chunk in source.chunks(chunk_rows, skip):
        seen[0] = max(seen[0], chunk.index + 1)
        parts.write_malformed(work, chunk.index, chunk.malformed)
        if chunk.table.num_rows == 0:
            done(parts.write_empty(work, chunk.index, len(chunk.malformed)))
            continue
        yield chunk
    if skip:
        seen[0] = max(seen[0], max(skip) + 1)


def _total_rows(source: InputFile) -> int | None:
    if source.format != "parquet":
        return None
    import pyarrow.parquet as pq

    return sum(int(pq.ParquetFile(f).metadata.num_rows) for f in source.files)


def _id_type(source: InputFile, id_column: str | None) -> str:
    if id_column is None or source.format != "parquet":
        return "string"
    import pyarrow.parquet as pq

    t = str(pq.read_schema(source.files[0]).field(id_column).type)
    return t if t in _ID_TYPES else "string"


def _arrow_type(name: str) -> Any:
    import pyarrow as pa

    return pa.type_for_alias(name)


def _classes_of(work: Path, chunks: int) -> list[str]:
    """The score columns, from the first part (every part has the same)."""
    import pyarrow as pa

    for k in range(chunks):
        path = work / f"part-{k:06d}.arrow"
        if path.exists():
            with pa.memory_map(str(path)) as source:
                names = pa.ipc.open_file(source).schema.names
            return [n[len("score.") :] for n in names if n.startswith("score.")]
    return []


def _audit(
    store: Store,
    options: BatchOptions,
    action: str,
    state: dict[str, Any],
    result: dict[str, Any],
) -> None:
    data = {
        "version": f"{state['service']}@{state['version']}",
        "input": state["input"],
        "output": str(options.output.resolve()),
        "log": bool(state["log"]),  # --no-log is recorded: the answers are not in the log
        "engine": options.engine,
        "chunk_rows": state["chunk_rows"],
        **result,
    }
    with store.write() as conn:
        store.audit.append(
            conn,
            actor=options.actor,
            action=action,
            object_type="batch_run",
            object_id=state["run_id"],
            data=data,
        )
