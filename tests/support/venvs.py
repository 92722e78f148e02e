"""Virtual environments under ``tmp_path`` for packages that must not share the dev venv.

Third-party OpenTelemetry instrumentations of one vendor (official ``opentelemetry-instrumentation-genai-
openai``, OpenInference, OpenLLMetry) all register an ``opentelemetry_instrumentor`` entry point named
``openai``: installed together, ``opentelemetry-instrument`` loads every one of them (and
``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS`` cannot tell them apart). Two kinds of venv keep them apart:

- :func:`overlay_venv` sees the dev venv's packages beneath its own through a ``.pth`` file: quick, for a
  test that instruments explicitly (the dev venv's entry points stay visible);
- :func:`isolated_venv` is what a user has: judgeval (this checkout, editable) and the named packages,
  nothing else, every shared dependency pinned to the dev venv's version (so pip takes them from its
  cache), for a test that runs ``opentelemetry-instrument`` from it.
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
from importlib import metadata
from pathlib import Path

from tests.support.processes import REPO_ROOT

INSTALL_TIMEOUT_S = 900
"""A cold pip cache downloads the packages and their dependencies from the registry."""

_OWN_DISTRIBUTION = "judgeval-otel"


def _new_venv(path: Path) -> Path:
    """A venv without pip (the dev venv's pip installs into it); returns its interpreter."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True, timeout=120)
    return path / "bin" / "python"


def _pip_install(python: Path, *arguments: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", *arguments],
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT_S,
    )
    assert done.returncode == 0, f"pip install {' '.join(arguments)} failed:\n{done.stderr}"


def _site_packages(python: Path) -> Path:
    done = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(done.stdout.strip())


def overlay_venv(path: Path, packages: tuple[str, ...]) -> Path:
    """A venv at ``path`` with ``packages`` installed over the dev venv's (judgeval included)."""
    python = _new_venv(path)
    # addsitedir (not a bare path) so the dev venv's own .pth files, judgeval's editable install among
    # them, are read too; the venv's own site-packages stays first on sys.path.
    dev_site = sysconfig.get_paths()["purelib"]
    (_site_packages(python) / "_judgeval_dev_venv.pth").write_text(
        f"import site; site.addsitedir({dev_site!r})\n"
    )
    _pip_install(python, *packages)
    return python


def dev_venv_constraints(path: Path) -> Path:
    """A pip constraints file pinning every distribution of the dev venv (but judgeval) to its version."""
    pins = sorted(
        f"{dist.metadata['Name']}=={dist.version}"
        for dist in metadata.distributions()
        if dist.metadata["Name"] and dist.metadata["Name"].lower() != _OWN_DISTRIBUTION
    )
    path.write_text("\n".join(pins) + "\n")
    return path


def isolated_venv(path: Path, packages: tuple[str, ...]) -> Path:
    """A venv at ``path`` holding judgeval (editable, plain install) and ``packages`` only.

    Its ``bin/opentelemetry-instrument`` runs apps as a user who installed exactly these would.
    """
    python = _new_venv(path)
    constraints = dev_venv_constraints(path / "constraints.txt")
    _pip_install(python, "-c", str(constraints), "-e", str(REPO_ROOT), *packages)
    return python
