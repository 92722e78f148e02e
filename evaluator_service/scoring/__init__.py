"""Scorers the evaluator runs: the contract, the built-ins, and how names resolve to scorers."""
