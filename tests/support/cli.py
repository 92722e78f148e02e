"""Running the installed ``judgeval`` console script, as a user would, from async tests."""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass
class CliResult:
    """Exit code and output of one ``judgeval`` run."""

    code: int
    stdout: str
    stderr: str


async def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> CliResult:
    """Run the installed ``judgeval`` console script without blocking the in-process server."""
    script = Path(sys.executable).parent / "judgeval"
    base = {k: v for k, v in os.environ.items() if not k.startswith("JUDGMENT_")}
    process = await asyncio.create_subprocess_exec(
        str(script), *args, env=base | (env or {}), cwd=cwd,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return CliResult(process.returncode, out.decode(), err.decode())


async def run_cli_into_closed_pipe(*args: str, env: dict[str, str] | None = None) -> CliResult:
    """Run ``judgeval`` with its stdout a pipe nobody reads (the reader closed, as ``| head -1`` does)."""
    script = Path(sys.executable).parent / "judgeval"
    base = {k: v for k, v in os.environ.items() if not k.startswith("JUDGMENT_")}
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        process = await asyncio.create_subprocess_exec(str(script), *args, env=base | (env or {}),
                                                       stdout=write_end, stderr=asyncio.subprocess.PIPE)
    finally:
        os.close(write_end)
    _, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return CliResult(process.returncode, "", err.decode())
