"""Behavior grouping: failing scores bucketed into named behaviors, shared by every replica.

Import from the submodules (``evaluator_service.behaviors.grouper`` etc.); this package module stays empty.
The layer sits above :mod:`evaluator_service.state`: the state keeps behavior rows, and which behavior a
failure joins is decided here (:mod:`evaluator_service.behaviors.matching`) and passed to the state as a
chooser.
"""
