"""Behavior grouping: failing scores bucketed into named behaviors, shared by every replica.

Import from the submodules (``evaluator_service.behaviors.grouper`` etc.); this package module stays empty
so the state layer can use :mod:`evaluator_service.behaviors.vectors` without an import cycle.
"""
