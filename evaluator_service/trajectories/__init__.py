"""Whole-trajectory and session scoring: the feed intake, the durable buffer, completion, results.

See :mod:`evaluator_service.trajectories.service` for how the pieces fit, and evaluator_service/README.md
("Trajectory and session scoring") for the user's view.
"""
