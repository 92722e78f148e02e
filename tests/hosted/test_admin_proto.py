"""The committed ``judgeval.admin.v1`` stubs match what ``scripts/gen-proto`` generates today."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]
GENERATED = ROOT / "instrumentation" / "judgeval" / "admin" / "v1"


def test_generated_stubs_are_up_to_date(tmp_path: Path) -> None:
    copy = tmp_path / "repo"
    shutil.copytree(ROOT / "proto", copy / "proto")
    shutil.copytree(ROOT / "scripts", copy / "scripts")
    (copy / "instrumentation").mkdir()
    env = dict(os.environ, PYTHON=sys.executable)
    subprocess.run([str(copy / "scripts" / "gen-proto")], check=True, env=env, capture_output=True)
    fresh = copy / "instrumentation" / "judgeval" / "admin" / "v1"
    names = sorted(p.name for p in fresh.iterdir())
    assert {"scorer_admin_pb2.py", "scorer_admin_pb2.pyi", "scorer_admin_pb2_grpc.py",
            "scorer_admin_pb2_grpc.pyi", "alerts_pb2.py", "alerts_pb2_grpc.py"} <= set(names)
    stale = [n for n in names if (fresh / n).read_bytes() != (GENERATED / n).read_bytes()]
    assert stale == [], f"run scripts/gen-proto: {stale} differ from proto/"
