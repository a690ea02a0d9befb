"""The durable spool: append-only segment files on local disk, one per process at a time.

Layout under ``PROJECT/.liveops/spool/``::

    predictions/w-0001/lock              flock'ed by the process that owns the folder
    predictions/w-0001/000000000007.seg  segments: frames appended, one write per batch
    predictions/w-0001/committed         "SEGMENT OFFSET": everything before is in the database
    feedback/w-0001/...                  feedback waiting for the database, same layout

A frame is ``length (4 bytes, little-endian) | crc32 (4 bytes) | payload (orjson)``. A process
killed in the middle of a write leaves a torn frame at the end of its last segment: its length
runs past the end of the file or its checksum fails, and replay stops there and counts the bytes
as torn. A reopened spool never appends to an old segment; it starts a new one.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import struct
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Frame", "Spool", "claim_spool", "free_spools"]

_HEADER = struct.Struct("<II")
_SUFFIX = ".seg"
_MAX_FRAME = 64 * 1024 * 1024


def encode_frame(payload: bytes) -> bytes:
    """``payload`` with its length and checksum in front.

    >>> frame = encode_frame(b'{"a":1}')
    >>> len(frame), list(read_frames(frame))
    (15, [(15, b'{"a":1}')])
    """
    return _HEADER.pack(len(payload), zlib.crc32(payload)) + payload


def read_frames(data: bytes, start: int = 0) -> Iterator[tuple[int, bytes]]:
    """``(end offset, payload)`` of each intact frame from ``start``; stops at a torn one.

    >>> good = encode_frame(b"x") + encode_frame(b"yy")
    >>> [p for _, p in read_frames(good + encode_frame(b"zzz")[:-1])]
    [b'x', b'yy']
    """
    pos, n = start, len(data)
    while pos + _HEADER.size <= n:
        length, crc = _HEADER.unpack_from(data, pos)
        end = pos + _HEADER.size + length
        if length > _MAX_FRAME or end > n:
            return
        payload = data[pos + _HEADER.size : end]
        if zlib.crc32(payload) != crc:
            return
        yield end, payload
        pos = end


@dataclass(frozen=True)
class Frame:
    """One spooled payload and where it ends (its segment and the byte after it)."""

    segment: int
    end: int
    payload: bytes


class Spool:
    """One process's spool folder: append batches, replay what is not committed, forget what is.

    Thread-safe: the request path appends while the writer thread commits."""

    def __init__(self, folder: Path, lock_fd: int, *, segment_bytes: int = 16 * 1024 * 1024):
        self.folder = folder
        self._lock_fd = lock_fd
        self._segment_bytes = segment_bytes
        self._mutex = threading.Lock()
        self._sizes = {_number(p): p.stat().st_size for p in folder.glob(f"*{_SUFFIX}")}
        self._committed = self._read_marker()
        # Never reuse a number at or before the committed mark: after a clean close deleted every
        # segment, a new segment 1 would look already stored and be skipped by the next replay.
        self._active = max(max(self._sizes, default=0), self._committed[0]) + 1
        self._fd = self._open_segment(self._active)
        self._dirty = False
        self.torn_bytes = 0

    # --- the request path ---------------------------------------------------------------

    def append(self, frames: bytes) -> tuple[int, int]:
        """Write encoded frames in one write; returns (segment, end offset) of the last one."""
        with self._mutex:
            if self._sizes[self._active] >= self._segment_bytes:
                self._rotate()
            written = os.write(self._fd, frames)
            while written < len(frames):  # rare: a short write on a full disk or a signal
                written += os.write(self._fd, frames[written:])
            self._sizes[self._active] += len(frames)
            self._dirty = True
            return self._active, self._sizes[self._active]

    def fsync(self) -> None:
        """Force appended frames to disk (a no-op when nothing was appended since)."""
        with self._mutex:
            if not self._dirty or self._fd < 0:
                return
            self._dirty = False
            fd = self._fd
        os.fsync(fd)

    # --- the writer ---------------------------------------------------------------------

    def pending(self) -> Iterator[Frame]:
        """Frames in segments before the active one that are not committed yet (replay)."""
        seg0, off0 = self._committed
        for number in sorted(n for n in self._sizes if n != self._active and n >= seg0):
            data = (self.folder / _name(number)).read_bytes()
            start = off0 if number == seg0 else 0
            end = start
            for end, payload in read_frames(data, start):
                yield Frame(number, end, payload)
            self.torn_bytes += len(data) - max(end, start)

    def read_from(self, segment: int, offset: int, limit_bytes: int) -> list[Frame]:
        """Intact frames from (``segment``, ``offset``) on, about ``limit_bytes`` of them,
        crossing into later segments (the active one included). Used to catch up on records
        that did not fit the in-memory queue."""
        frames: list[Frame] = []
        with self._mutex:
            numbers = sorted(n for n in self._sizes if n >= segment)
        budget = limit_bytes
        for number in numbers:
            start = offset if number == segment else 0
            try:
                with (self.folder / _name(number)).open("rb") as fh:
                    fh.seek(start)
                    data = fh.read(max(budget, 1 << 20))
            except FileNotFoundError:
                continue
            for end, payload in read_frames(data):
                frames.append(Frame(number, start + end, payload))
                budget -= len(payload)
            if budget <= 0 or number == self._active:
                break
            if frames and frames[-1].segment == number:
                # Moved past this segment only if it was read to its end.
                if frames[-1].end < self._sizes.get(number, 0):
                    break
            elif start < self._sizes.get(number, 0):
                break
        return frames

    def position(self) -> tuple[int, int]:
        """Where the next append goes: (active segment, its size)."""
        with self._mutex:
            return self._active, self._sizes[self._active]

    def commit(self, segment: int, end: int) -> None:
        """Everything up to ``end`` in ``segment`` (and every earlier segment) is stored."""
        with self._mutex:
            if (segment, end) <= self._committed:
                return
            self._committed = (segment, end)
            tmp = self.folder / "committed.tmp"
            tmp.write_text(f"{segment} {end}\n")
            os.replace(tmp, self.folder / "committed")
            done = [
                n
                for n, size in self._sizes.items()
                if n < segment or (n == segment and n != self._active and end >= size)
            ]
            for number in done:
                with contextlib.suppress(FileNotFoundError):
                    (self.folder / _name(number)).unlink()
                del self._sizes[number]

    def bytes_on_disk(self) -> int:
        with self._mutex:
            return sum(self._sizes.values())

    def all_committed(self) -> bool:
        """True when nothing in this spool waits for the database."""
        with self._mutex:
            seg, end = self._committed
            return all(
                size == 0 or n < seg or (n == seg and size <= end)
                for n, size in self._sizes.items()
            )

    def close(self) -> None:
        """Sync and release the folder; segments whose records are all stored are deleted."""
        done = self.all_committed()
        with self._mutex:
            if self._fd < 0:
                return
            os.fsync(self._fd)
            os.close(self._fd)
            self._fd = -1
            if done:
                for number in list(self._sizes):
                    with contextlib.suppress(FileNotFoundError):
                        (self.folder / _name(number)).unlink()
                    del self._sizes[number]
            os.close(self._lock_fd)

    def remove(self) -> None:
        """Delete the folder (once everything in it is committed) and release it."""
        self.close()
        for p in self.folder.iterdir():
            p.unlink()
        with contextlib.suppress(OSError):
            self.folder.rmdir()

    # --- internals ----------------------------------------------------------------------

    def _rotate(self) -> None:
        os.fsync(self._fd)
        os.close(self._fd)
        self._active += 1
        self._fd = self._open_segment(self._active)

    def _open_segment(self, number: int) -> int:
        fd = os.open(self.folder / _name(number), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._sizes[number] = os.fstat(fd).st_size
        return fd

    def _read_marker(self) -> tuple[int, int]:
        try:
            seg, end = (self.folder / "committed").read_text().split()
            return int(seg), int(end)
        except (FileNotFoundError, ValueError):
            return (0, 0)


def _name(number: int) -> str:
    return f"{number:012d}{_SUFFIX}"


def _number(path: Path) -> int:
    return int(path.name.removesuffix(_SUFFIX))


def _try_lock(folder: Path) -> int | None:
    fd = os.open(folder / "lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def claim_spool(root: Path, *, segment_bytes: int = 16 * 1024 * 1024) -> Spool:
    """Take a spool folder under ``root`` that no live process holds (a crashed process's
    folder first, so its records are replayed), else create a new one."""
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        fd = _try_lock(folder)
        if fd is not None:
            return Spool(folder, fd, segment_bytes=segment_bytes)
    n = 1 + max((int(p.name[2:]) for p in root.glob("w-*") if p.name[2:].isdigit()), default=0)
    while True:
        folder = root / f"w-{n:04d}"
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:
            n += 1
            continue
        fd = _try_lock(folder)
        if fd is not None:
            return Spool(folder, fd, segment_bytes=segment_bytes)
        n += 1


def free_spools(root: Path) -> Iterator[Spool]:
    """Every other spool folder under ``root`` that no live process holds (locked for the
    caller), e.g. left behind by a gateway that ran with more workers."""
    if not root.exists():
        return
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        fd = _try_lock(folder)
        if fd is not None:
            yield Spool(folder, fd)
