"""The spool on its own: frames, torn tails, segments, committed marks, folder claims."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from liveops.services.predictions import LogSettings, open_prediction_log
from liveops.services.predictions.spool import SpoolReader, claim_spool, encode_frame
from liveops.store import Store, open_store
from tests.services.predictions.test_log import rec


def test_a_torn_tail_is_skipped_and_counted(tmp_path: Path) -> None:
    spool = claim_spool(tmp_path)
    spool.append(encode_frame(b"one") + encode_frame(b"two"))
    torn = encode_frame(b"three")
    spool.append(torn[:-2])  # the process died in the middle of this write
    folder = spool.folder
    spool.close()
    again = claim_spool(tmp_path)
    assert again.folder == folder  # a crashed process's folder is taken over
    reader = SpoolReader(folder, live=True)  # the new owner appends to a new segment
    assert [f.payload for f in reader.pending() if f.payload] == [b"one", b"two"]
    assert reader.torn_bytes == len(torn) - 2
    again.close()


def test_a_write_in_progress_is_read_once_it_is_complete(tmp_path: Path) -> None:
    spool = claim_spool(tmp_path)
    frame = encode_frame(b"late")
    spool.append(encode_frame(b"early") + frame[:5])  # the rest is not written yet
    reader = SpoolReader(spool.folder, live=True)
    assert [f.payload for f in reader.pending()] == [b"early"]
    assert reader.torn_bytes == 0
    spool.append(frame[5:])
    assert [f.payload for f in reader.pending()] == [b"early", b"late"]
    spool.close()


def test_a_corrupt_frame_stops_the_replay_of_its_segment(tmp_path: Path) -> None:
    spool = claim_spool(tmp_path)
    frame = bytearray(encode_frame(b"payload"))
    frame[-1] ^= 0xFF  # checksum no longer matches
    spool.append(encode_frame(b"ok") + bytes(frame))
    spool.close()
    reader = SpoolReader(spool.folder, live=False)
    assert [f.payload for f in reader.pending() if f.payload] == [b"ok"]
    assert reader.torn_bytes == len(frame)


def test_segments_rotate_and_committed_ones_are_deleted(tmp_path: Path) -> None:
    spool = claim_spool(tmp_path, segment_bytes=100)
    marks = [spool.append(encode_frame(b"x" * 100)) for _ in range(5)]
    assert len({segment for segment, _ in marks}) == 5  # each append found a full segment
    assert len(list(spool.folder.glob("*.seg"))) == 5
    reader = SpoolReader(spool.folder, live=True)
    reader.commit(*marks[2])  # the end of segment 3: segments 1-3 are stored
    assert sorted(p.name[-6:] for p in spool.folder.glob("*.seg")) == ["04.seg", "05.seg"]
    assert len(reader.pending()) == 2
    reader.commit(*marks[4])
    assert reader.pending() == []
    assert len(list(spool.folder.glob("*.seg"))) == 1  # the segment still appended to stays
    spool.close()
    reader.live = False
    reader.commit(*marks[4])  # no-op: nothing new
    assert SpoolReader(spool.folder, live=False).pending() == []


def test_records_after_a_clean_close_are_replayed_by_the_next_start(tmp_path: Path) -> None:
    # After every segment was stored and deleted the committed mark stays; the next process
    # must not write where that mark says "already stored", or a crash would lose its records.
    first = claim_spool(tmp_path)
    mark = first.append(encode_frame(b"stored") * 10)
    first.close()
    SpoolReader(first.folder, live=False).commit(*mark)  # the writer stored it all
    assert not list(first.folder.glob("*.seg"))  # stored, so deleted
    second = claim_spool(tmp_path)
    second.append(encode_frame(b"new"))
    second.close()  # as if killed before the writer stored it
    assert [f.payload for f in SpoolReader(second.folder, live=False).pending()] == [b"new"]


def test_two_live_processes_never_share_a_folder(tmp_path: Path) -> None:
    a, b = claim_spool(tmp_path), claim_spool(tmp_path)
    assert a.folder != b.folder
    a.close()
    b.close()


def test_many_small_batches_arrive_whole_and_in_order(store: Store, tmp_path: Path) -> None:
    settings = LogSettings(flush_interval_s=0.01, batch_max=25)
    plog = open_prediction_log(store, tmp_path, settings)
    records = [rec() for _ in range(1000)]
    for i in range(0, 1000, 5):
        plog.submit(records[i : i + 5])
    assert plog.flush(30)
    assert store.predictions.ids() == [r.prediction_id for r in records]
    plog.close()


def test_a_large_replay_is_read_back_lazily(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'liveops.db'}"
    store = open_store(url, project_dir=tmp_path)
    spool = claim_spool(tmp_path / ".liveops" / "spool" / "predictions", segment_bytes=4096)
    from liveops.services.predictions.log import _encode

    records = [rec() for _ in range(300)]
    for i in range(0, 300, 10):
        spool.append(b"".join(_encode(r) for r in records[i : i + 10]))
    spool.close()
    plog = open_prediction_log(store, tmp_path, LogSettings(batch_max=50))
    assert plog.stats()["backlog"] == 300
    assert plog.flush(30)
    assert store.predictions.ids() == [r.prediction_id for r in records]
    assert plog.stats()["spool_bytes"] == 0  # replayed segments are deleted once stored
    plog.close()
    store.close()


def test_reading_in_small_chunks_sees_every_frame_once(tmp_path: Path) -> None:
    spool = claim_spool(tmp_path, segment_bytes=1000)
    payloads = [f"record-{i}".encode() * (1 + i % 7) for i in range(300)]
    for i in range(0, 300, 3):
        spool.append(b"".join(encode_frame(p) for p in payloads[i : i + 3]))
    reader = SpoolReader(spool.folder, live=True)
    seen: list[bytes] = []
    for _ in range(1000):
        frames = reader.pending(limit_bytes=64)  # smaller than most frames: one or two a call
        if not frames:
            break
        seen += [f.payload for f in frames if f.payload]
        reader.commit(frames[-1].segment, frames[-1].end)
    assert seen == payloads
    assert reader.torn_bytes == 0
    spool.close()


def test_a_shared_delete_spool_loses_no_frame_while_its_live_segment_is_deleted(
    tmp_path: Path,
) -> None:
    # The raw spool's protocol: the reader deletes the segment still appended to once it is
    # stored; the appender, under the segment's flock, moves on to a new one.
    spool = claim_spool(tmp_path, shared_delete=True)
    reader = SpoolReader(spool.folder, live=True, shared_delete=True)
    sent = [f"frame-{i}".encode() for i in range(1500)]
    done = threading.Event()

    def append() -> None:
        for i in range(0, len(sent), 3):
            spool.append(b"".join(encode_frame(p) for p in sent[i : i + 3]))
            time.sleep(0.0005)  # a gateway's pace: the reader catches up now and then
        done.set()

    appender = threading.Thread(target=append)
    appender.start()
    got: list[bytes] = []
    deleted_live = 0
    while True:
        finished = done.is_set()
        frames = reader.pending()
        got += [f.payload for f in frames if f.payload]
        if frames:
            reader.commit(frames[-1].segment, frames[-1].end)
            deleted_live += not done.is_set() and not list(spool.folder.glob("*.seg"))
        elif finished:
            break
    appender.join()
    assert got == sent  # every frame once, in order
    assert deleted_live > 0  # the live segment really was deleted while appended to
    assert list(spool.folder.glob("*.seg")) == []  # stored: nothing left on disk
    spool.close()
