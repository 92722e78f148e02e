"""Registry: validation, versioned storage, shared environments, install failures."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from evaluator_service.registry import (
    InvalidUpload,
    Registry,
    RequirementsInstallError,
    ScorerExists,
    ScorerNotFound,
    UploadMode,
)

from .admin_server import DOCS_REQUIREMENTS, DOCS_SCORER

SOURCE = DOCS_SCORER.read_text()


async def upload(registry: Registry, mode: UploadMode = UploadMode.CREATE, **overrides: str):
    fields = {"name": "", "source": SOURCE, "source_filename": DOCS_SCORER.name,
              "requirements": DOCS_REQUIREMENTS} | overrides
    return await registry.upload(mode=mode, **fields)


async def test_versions_overwrite_and_delete(registry: Registry) -> None:
    first = await upload(registry)
    assert (first.name, first.version) == ("Package Inquiry Scorer", 1)
    assert first.class_name == "PackageInquiryScorer"
    with pytest.raises(ScorerExists, match=r"--overwrite.*--new-version"):
        await upload(registry)
    second = await upload(registry, UploadMode.NEW_VERSION, source=SOURCE + "\n# v2\n")
    assert second.version == 2
    replaced = await upload(registry, UploadMode.OVERWRITE, source=SOURCE + "\n# v2 fixed\n")
    assert replaced.version == 2 and replaced.sha256 != second.sha256
    assert (await registry.read_source(registry.get("Package Inquiry Scorer"))).endswith("# v2 fixed\n")
    assert [s.version for s in registry.versions("Package Inquiry Scorer")] == [1, 2]
    assert await registry.delete("Package Inquiry Scorer", 1) == [first]
    assert registry.find("Package Inquiry Scorer", 1) is None
    reopened = Registry(registry.data_dir, installer=registry.installer)  # the index survives a restart
    await reopened.refresh()
    assert reopened.versions("Package Inquiry Scorer") == registry.versions("Package Inquiry Scorer")
    await registry.delete("Package Inquiry Scorer")
    with pytest.raises(ScorerNotFound, match="no scorer named"):
        registry.get("Package Inquiry Scorer")


async def test_names_that_would_share_span_attributes_are_refused(registry: Registry) -> None:
    await upload(registry)
    with pytest.raises(InvalidUpload, match=r"judgeval\.score\.package_inquiry_scorer\.\*"):
        await upload(registry, name="package-inquiry scorer")


async def test_data_dir_is_private_and_equal_requirements_share_one_environment(registry: Registry) -> None:
    one = await upload(registry, name="one")
    two = await upload(registry, name="two", requirements="openai\n# judge client\npydantic\n")
    assert one.requirements_hash == two.requirements_hash
    assert registry.environment_ready(one)
    assert stat.S_IMODE(registry.data_dir.stat().st_mode) == 0o700


@pytest.mark.parametrize(
    ("requirements", "message"),
    [
        ("-e ./local\n", "line 1: pip options such as '-e' are not allowed"),
        ("openai\n--index-url https://evil.example/simple\n", "line 2: pip options such as '--index-url'"),
        ("pkg @ https://evil.example/pkg.whl\n", "line 1: direct URL references are not allowed"),
        ("./some/path\n", "line 1: './some/path' is not a valid requirement"),
    ],
)
async def test_requirements_are_checked_line_by_line(
    registry: Registry, requirements: str, message: str
) -> None:
    with pytest.raises(InvalidUpload, match=message):
        await upload(registry, requirements=requirements)
    assert registry.list_scorers() == []


async def test_oversized_or_shadowing_uploads_are_refused(registry: Registry) -> None:
    with pytest.raises(InvalidUpload, match="larger than 1024 KiB"):
        await upload(registry, source=SOURCE + "#" * (1024 * 1024))
    with pytest.raises(InvalidUpload, match="would shadow the module 'json'"):
        await upload(registry, source_filename="json.py")
    stored = await upload(registry, source_filename="../../etc/my-scorer.py")
    assert stored.source_filename == "my_scorer.py"
    assert registry.source_path(stored).parent.parent.parent == registry.root


async def test_failed_install_reports_pip_output_and_stores_nothing(registry: Registry) -> None:
    with pytest.raises(RequirementsInstallError, match=r"(?s)exit 1.*judgeval-no-such-package"):
        await upload(registry, requirements="judgeval-no-such-package==9.9\n")
    assert registry.list_scorers() == []
    assert not any(p.name.startswith(".") for p in Path(registry.installer.envs_dir).iterdir())
