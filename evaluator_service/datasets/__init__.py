"""Datasets from production: scored interactions kept in named, versioned datasets of the shared state.

Import from the submodules; this package module stays empty. ``settings`` (the ``datasets:`` config
section), ``redaction`` (PII removed before storing), ``selection`` (which records a rule keeps),
``collector`` (the interaction sink, its bounded queue, batched writes and retention), ``counters`` (its
metrics), ``files`` (jsonl / csv / parquet forms shared with the CLI live in ``judgeval.dataset``).
The layer sits above :mod:`evaluator_service.state` (which stores the rows).
"""
