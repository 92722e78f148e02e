"""Data passed to scorers."""

from judgeval.data.example import Example

__all__ = ["Example"]
