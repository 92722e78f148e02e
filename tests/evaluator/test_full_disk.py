"""A full data directory: Export answers UNAVAILABLE before anything is half-written, queued spans keep
being scored and forwarded, and intake recovers by itself once there is room again.

The data directory is a real small filesystem (a tmpfs mounted for the test), which needs root; the
test is skipped, saying so, when it does not run as root.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from judgeval import semconv
from judgeval.semconv import EvalStatus

from evaluator_service.packed_spans import pack_spans
from evaluator_service.queue import DB_FILE_NAME, DiskFullError, NewSpanGroup, SpanQueue
from tests.support.evaluator import export, running, wait_drained, wait_for
from tests.support.spans import make_request, make_span, tagged_attributes

FS_BYTES = 8 * 1024 * 1024
RESERVE = 2 * 1024 * 1024
PADDING = "x" * 4000  # ~4 KB per span, so a few hundred spans fill the filesystem


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """An 8 MiB tmpfs mounted under tmp_path, unmounted afterwards."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs for the data directory needs root")
    mount_point = tmp_path / "small-fs"
    mount_point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={FS_BYTES}", "tmpfs", str(mount_point)],
                             capture_output=True, text=True, check=False)
    if mounted.returncode != 0:  # root without CAP_SYS_ADMIN (a restricted container): say so, do not skip
        pytest.fail(f"cannot mount a tmpfs as root: {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=True)


def free_bytes(path: Path) -> int:
    fs = os.statvfs(path)
    return fs.f_bavail * fs.f_frsize


def fill(path: Path, leave: int) -> Path:
    """A file taking all but about ``leave`` bytes of the filesystem holding ``path``."""
    filler = path / "filler"
    with filler.open("wb") as out:
        out.write(b"\0" * max(0, free_bytes(path) - leave))
    return filler


def spans_request(count: int, tagged: bool) -> tuple[list[str], object]:
    attributes = {"padding": PADDING}
    if tagged:
        attributes |= tagged_attributes(("regex", {"actual_output": "ok"}), config={"pattern": "ok"})
    spans = [make_span("filling", attributes) for _ in range(count)]
    return [s.span_id.hex() for s in spans], make_request(spans)


async def export_until_refused(app, max_requests: int = 200) -> tuple[set[str], list[grpc.StatusCode]]:
    """Export 20-span requests (every other one tagged) until the evaluator refused five; returns the
    span ids it accepted and the codes of its refusals."""
    accepted: set[str] = set()
    refusals: list[grpc.StatusCode] = []
    for n in range(max_requests):
        ids, request = spans_request(20, tagged=n % 2 == 1)
        try:
            await export(app, request)
        except grpc.aio.AioRpcError as exc:
            refusals.append(exc.code())
            if len(refusals) == 5:
                break
        else:
            accepted.update(ids)
    return accepted, refusals


def delivered_once(receiver, ids: set[str]) -> bool:
    got = [s.span_id for s in receiver.spans if s.span_id in ids]
    return len(got) == len(ids)


async def test_a_full_data_dir_answers_unavailable_keeps_forwarding_and_recovers(
    make_config, receiver, small_fs
):
    config = make_config({"queue": {"min_free_bytes": RESERVE}}, data_dir=small_fs / "data")
    receiver.unavailable = True  # a downstream outage lets the queue grow until the disk is short
    async with running(config) as app:
        accepted, refusals = await export_until_refused(app)
        assert refusals and set(refusals) == {grpc.StatusCode.UNAVAILABLE}
        assert accepted
        receiver.unavailable = False  # queued spans drain while nothing was freed by hand
        await wait_for(receiver, lambda _: delivered_once(receiver, accepted), timeout=60)
        await wait_drained(app, timeout=60)
        ids, request = spans_request(20, tagged=True)
        await export(app, request)  # intake accepts again by itself: the drained queue's pages are reused
        await wait_for(receiver, lambda _: delivered_once(receiver, accepted | set(ids)), timeout=30)
    tagged = [s for s in receiver.spans if s.span_id in ids]
    assert {s.attributes[semconv.JUDGEVAL_EVAL_STATUS] for s in tagged} == {EvalStatus.SCORED}
    assert sorted(s.span_id for s in receiver.spans) == sorted(accepted | set(ids))  # each exactly once


async def test_a_truly_full_disk_refuses_then_delivery_resumes_once_space_is_freed(
    make_config, receiver, small_fs
):
    # No reserve: SQLite itself runs out of space, for intake and for deleting delivered spans alike.
    config = make_config({"queue": {"min_free_bytes": 0}}, data_dir=small_fs / "data")
    receiver.unavailable = True
    async with running(config) as app:
        filler = fill(small_fs, leave=1024 * 1024)
        accepted, refusals = await export_until_refused(app)
        assert refusals and set(refusals) == {grpc.StatusCode.UNAVAILABLE}
        assert accepted
        receiver.unavailable = False
        await wait_for(receiver, lambda s: len(s) > 0, timeout=30)
        filler.unlink()  # the operator frees space: nothing is restarted
        await wait_for(receiver, lambda _: delivered_once(receiver, accepted), timeout=60)
        await wait_drained(app, timeout=60)
        ids, request = spans_request(20, tagged=False)
        await export(app, request)
        await wait_for(receiver, lambda _: delivered_once(receiver, accepted | set(ids)), timeout=30)


async def test_sqlite_full_rolls_the_whole_batch_back(small_fs):
    data_dir = small_fs / "data"
    store = await SpanQueue.open(data_dir, max_spans=10_000, max_bytes=1 << 30, min_free_bytes=0)
    try:
        with sqlite3.connect(data_dir / DB_FILE_NAME) as db:  # the file holds every page: nothing to grow
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        filler = fill(small_fs, leave=200 * 1024)
        room = free_bytes(small_fs)
        # The free-space check lets it through (its span bytes fit), but its pages and WAL frames do not.
        span = make_span("big", {"padding": "y" * (room - 8 * 1024)}).SerializeToString()
        group = NewSpanGroup(b"", b"", pack_spans([span]), 1)
        with pytest.raises(DiskFullError, match="is full"):
            await store.enqueue([group])
        assert store.span_count == 0
        with sqlite3.connect(data_dir / DB_FILE_NAME) as db:
            assert db.execute("SELECT COUNT(*) FROM spans").fetchone()[0] == 0
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        filler.unlink()
        await store.enqueue([group])  # the same connection works again: no transaction was left open
        assert store.span_count == 1
    finally:
        await store.close()


async def test_intake_keeps_the_reserve_free(small_fs):
    store = await SpanQueue.open(small_fs / "data", max_spans=10_000, max_bytes=1 << 30,
                                 min_free_bytes=free_bytes(small_fs) - 10 * 1024)
    try:
        span = make_span("s", {"padding": "z" * 20_000}).SerializeToString()
        with pytest.raises(DiskFullError, match=r"almost full .*queue\.min_free_bytes"):
            await store.enqueue([NewSpanGroup(b"", b"", pack_spans([span]), 1)])
        assert store.span_count == 0
    finally:
        await store.close()
