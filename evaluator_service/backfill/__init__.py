"""Backfill: score spans that already happened, read back from the trace backend, and write the results
into their traces (see :mod:`evaluator_service.backfill.run`)."""
