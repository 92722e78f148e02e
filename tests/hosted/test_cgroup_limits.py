"""The limits each cgroup version gets, written into a directory tree shaped like each hierarchy (the
kernel's own files are exercised by test_sandbox_hardening.py on whichever version this host has)."""

from __future__ import annotations

from pathlib import Path

from evaluator_service.sandbox.cgroups import CgroupLimits, CgroupManager

LIMITS = CgroupLimits(memory_bytes=256 << 20, max_processes=64, cpus=0.5)


def _values(path: Path) -> dict[str, str]:
    return {f.name: f.read_text() for f in path.iterdir()}


def test_cgroup_v2_gets_memory_without_swap_pids_and_a_cpu_quota(tmp_path: Path) -> None:
    group = CgroupManager(2, [tmp_path]).create(LIMITS)
    [path] = group.paths
    assert _values(path) == {"memory.max": str(256 << 20), "memory.swap.max": "0", "pids.max": "64",
                             "cpu.max": "50000 100000"}
    assert group.procs_files == [str(path / "cgroup.procs")]


def test_cgroup_v1_writes_one_group_per_controller(tmp_path: Path) -> None:
    parents = [tmp_path / name for name in ("memory", "pids", "cpu")]
    for parent in parents:
        parent.mkdir()
    group = CgroupManager(1, parents).create(LIMITS)
    memory, pids, cpu = group.paths
    assert _values(memory) == {"memory.limit_in_bytes": str(256 << 20),
                               "memory.memsw.limit_in_bytes": str(256 << 20)}
    assert _values(pids) == {"pids.max": "64"}
    assert _values(cpu) == {"cpu.cfs_period_us": "100000", "cpu.cfs_quota_us": "50000"}
    assert [Path(p).parent.parent for p in group.procs_files] == parents
