"""The local monitoring stack (``scripts/run-stack``) and the process helpers the end-to-end tests share.

Runs from a checkout of this repository: the collector and Jaeger configs are read from
``collector-config/`` and the binaries come from ``scripts/otel-binaries``.
"""
