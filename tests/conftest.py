"""Every suite's shared fixtures come from ``tests/support``, loaded here as pytest plugins."""

pytest_plugins = ["tests.support.fixtures", "tests.support.otel_binaries"]
