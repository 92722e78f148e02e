"""Built-in scorers, available by name without upload; see :mod:`.sources` for how names resolve.

This package ``__init__`` imports nothing so that the config module can read :mod:`.catalog` cheaply.
"""
