"""Generated stubs of ``judgeval.admin.v1`` (``scripts/gen-proto``); never edit by hand."""
