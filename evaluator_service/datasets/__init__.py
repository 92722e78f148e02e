"""Datasets from production: scored interactions kept in named, versioned datasets of the shared state.

Import from the submodules; this package module stays empty. ``settings`` (the ``datasets:`` config
section), ``redaction`` (PII removed before storing), ``collector`` (the interaction sink: rule matching,
bounded queue, batched writes, retention), ``counters`` (its metrics), ``trace_records`` (records rebuilt
from a trace read back from Jaeger, for ``add --trace``). The file formats (jsonl, csv, parquet) live in
the SDK (``judgeval.dataset.files``), shared with the CLI. The layer sits above
:mod:`evaluator_service.state` (which stores the rows).
"""
