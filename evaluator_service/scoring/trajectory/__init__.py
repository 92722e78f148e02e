"""Scorers of whole trajectories (a trace bounded by the span that asked, or a session): the deterministic
built-ins, the LLM agent judge, uploaded ``TraceScorer`` classes in the sandbox, and
:class:`~evaluator_service.scoring.trajectory.catalog.TrajectoryScorers`, which resolves a trajectory
request's scorer name to one of them.

This package ``__init__`` imports nothing so that the config module can read :mod:`.options` cheaply.
"""
