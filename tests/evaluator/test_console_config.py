"""The ``console_data:`` config section: defaults, the shipped example, and precise errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from evaluator_service.config import ConfigError, load_config
from evaluator_service.console.settings import ConsoleDataConfig


def _load(tmp_path: Path, section: object) -> ConsoleDataConfig:
    path = tmp_path / "evaluator.yaml"
    path.write_text(yaml.safe_dump({"console_data": section}), encoding="utf-8")
    return load_config(config_file=str(path), environ={}).console_data


def test_defaults_and_the_shipped_example_agree() -> None:
    shipped = Path(__file__).parents[2] / "evaluator_service" / "default_config.yaml"
    assert load_config(config_file=str(shipped), environ={}).console_data == ConsoleDataConfig()
    assert load_config(environ={}).console_data == ConsoleDataConfig()


def test_values_are_read(tmp_path: Path) -> None:
    config = _load(tmp_path, {"enabled": False, "flush_interval_s": 1, "failing_max_rows": 50,
                              "minute_retention_s": 3600, "hour_retention_s": 86400})
    assert (config.enabled, config.flush_interval_s, config.failing_max_rows) == (False, 1.0, 50)
    assert (config.retention_of(60), config.retention_of(3600)) == (3600.0, 86400.0)


@pytest.mark.parametrize(("section", "message"), [
    ({"flush_every": 5}, "console_data.flush_every: unknown key"),
    ({"flush_interval_s": 0}, "console_data.flush_interval_s: must be > 0"),
    ({"failing_max_rows": 0}, "console_data.failing_max_rows: must be >= 1"),
    ({"enabled": "yes"}, "console_data.enabled: must be true or false"),
    ({"minute_retention_s": 30}, "console_data.minute_retention_s: must be >= 60"),
    ({"minute_retention_s": 86400, "hour_retention_s": 3600},
     "console_data.hour_retention_s: must be >= minute_retention_s"),
    ("often", "console_data: must be a mapping"),
])
def test_mistakes_name_the_key(tmp_path: Path, section: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _load(tmp_path, section)
