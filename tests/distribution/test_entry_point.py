"""``judgeval-evaluator``'s entry point: which distributions the server extra needs, and what it imports."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import metadata

from evaluator_service import entry_point

SERVER_MODULES = ("psycopg", "aiohttp", "jsonschema", "yaml", "grpc_health", "openai", "httpx", "grpc")


def test_extra_requirements_keep_only_the_server_extra() -> None:
    requires = [
        "grpcio>=1.66",
        'psycopg[binary]>=3.2; extra == "evaluator"',
        "PyYAML>=6 ; extra=='evaluator'",
        'anthropic>=0.40; extra == "anthropic"',
        'judgeval-otel[evaluator]; extra == "dev"',
        'aiohttp>=3.9; python_version >= "3.11" and extra == "evaluator"',
    ]
    assert entry_point.extra_requirements(requires) == ["psycopg", "PyYAML", "aiohttp"]


def test_missing_distributions_names_only_what_is_absent() -> None:
    absent = "judgeval-otel-no-such-distribution"
    assert entry_point.missing_distributions(["pip", absent, "grpcio"]) == [absent]


def test_the_installed_extra_is_complete_in_the_dev_environment() -> None:
    names = entry_point.extra_requirements(metadata.requires(entry_point.DISTRIBUTION) or [])
    assert {"psycopg", "aiohttp", "jsonschema", "PyYAML", "grpcio-health-checking"} <= set(names)
    assert entry_point.missing_server_dependencies() == []


def test_the_check_runs_before_anything_of_the_server_is_imported() -> None:
    script = (
        "import json, sys\n"
        "import evaluator_service.entry_point\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    loaded = json.loads(done.stdout)
    ours = [name for name in loaded if name.startswith("evaluator_service")]
    assert ours == ["evaluator_service", "evaluator_service.entry_point"]
    assert [name for name in loaded if name.split(".")[0] in SERVER_MODULES] == []
