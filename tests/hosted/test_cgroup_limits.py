"""The limits each cgroup version gets, written into a directory tree shaped like each hierarchy (the
kernel's own files are exercised by test_sandbox_hardening.py on whichever version this host has), and the
v2 delegated layout a normal user's evaluator sets up (v1 delegation runs for real in
test_sandbox_nonroot.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from evaluator_service.sandbox import cgroups
from evaluator_service.sandbox.cgroups import CgroupLimits, CgroupManager
from evaluator_service.sandbox.isolation import counts_nproc_per_user_namespace
from evaluator_service.sandbox.owner_locks import OwnerLock, new_instance_id

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


def test_a_delegated_v2_group_moves_its_processes_into_a_leaf_and_hands_controllers_down(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    own = tmp_path / "user.slice" / "evaluator.service"
    own.mkdir(parents=True)
    (own / "cgroup.controllers").write_text("cpu memory pids\n")
    (own / "cgroup.subtree_control").write_text("")
    (own / "cgroup.procs").write_text("4242\n")
    (tmp_path / "self-cgroup").write_text("0::/user.slice/evaluator.service\n")
    monkeypatch.setattr(cgroups, "CGROUP_ROOT", tmp_path)
    manager = CgroupManager.delegated("0123456789abcdef0123456789abcdef", tmp_path / "self-cgroup")
    assert manager.version == 2
    assert (own / "evaluator" / "cgroup.procs").read_text() == "4242"
    assert (own / "cgroup.subtree_control").read_text() == "+memory +pids +cpu"
    [parent] = list(own.glob("judgeval-sandbox-0123456789abcdef0123456789abcdef"))
    assert (parent / "cgroup.subtree_control").read_text() == "+memory +pids +cpu"


def test_which_kernels_count_the_process_limit_per_user_namespace() -> None:
    assert counts_nproc_per_user_namespace("6.18.44-fc-v1252")
    assert counts_nproc_per_user_namespace("5.14.0-362.el9.x86_64")
    assert not counts_nproc_per_user_namespace("5.10.0-28-amd64")
    assert not counts_nproc_per_user_namespace("4.19.0")


def test_only_parents_whose_owner_lock_is_free_are_stale(tmp_path: Path) -> None:
    # the real processes and PID namespaces: test_sandbox_cgroup_owners.py
    hierarchies, locks = [tmp_path / name for name in ("memory", "pids", "cpu")], tmp_path / "locks"
    locks.mkdir()
    own, live, gone, unknown = (new_instance_id() for _ in range(4))
    held = [OwnerLock.hold(locks, own), OwnerLock.hold(locks, live), OwnerLock.hold(locks, gone)]
    held[2].release(forget=False)  # its evaluator died: the lock file stays, nobody holds it
    names = [f"judgeval-sandbox-{x}" for x in (own, live, gone, unknown)] + ["judgeval-sandbox-4242"]
    for hierarchy in hierarchies:
        for name in names:
            (hierarchy / name / "w-0123").mkdir(parents=True)
    CgroupManager(1, [h / names[0] for h in hierarchies]).remove_stale(locks)
    left = {path.name for hierarchy in hierarchies for path in hierarchy.iterdir()}
    assert left == set(names) - {f"judgeval-sandbox-{gone}"}  # owner alive, unknown here, or a legacy pid
    assert {path.name for path in locks.iterdir()} == {f"{own}.lock", f"{live}.lock"}
    for lock in held:
        lock.release()
