"""Where a running sandbox worker's cgroups are, read from the host's ``/proc`` (for the cgroup tests)."""

from __future__ import annotations

import contextlib
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
CONTROLLERS = ("memory", "pids", "cpu")


def worker_pids(module_file: str) -> list[int]:
    """The processes whose command line names ``module_file`` (a scorer's module: its sandbox worker)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):
            if module_file in cmdline.read_text():
                found.append(int(cmdline.parent.name))
    return found


def evaluator_cgroup_parents(module_file: str) -> set[Path]:
    """The cgroup parents (``.../judgeval-sandbox-<id>``, one per v1 hierarchy or one v2 directory) of the
    evaluator whose worker runs ``module_file``: the directory above each worker's own group."""
    parents = set()
    for pid in worker_pids(module_file):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
                _, controllers, path = line.split(":", 2)
                parts = Path(path).parts  # ("/", "judgeval-sandbox-<id>", "w-<leaf>")
                if len(parts) < 3 or not parts[1].startswith("judgeval-sandbox-"):
                    continue
                if controllers == "":
                    parents.add(CGROUP_ROOT / parts[1])
                parents.update(CGROUP_ROOT / ctrl / parts[1] for ctrl in controllers.split(",")
                               if ctrl in CONTROLLERS)
    return parents
