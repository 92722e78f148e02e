"""Datasets of production examples: ``Dataset.pull("name")`` from the evaluator, ``Dataset.from_file`` for
exports, ``.examples`` as ``judgeval.data.Example`` (sub)class instances, ``.to_pandas()``."""

from judgeval.dataset.dataset import Dataset
from judgeval.dataset.files import DatasetError, DatasetFileError

__all__ = ["Dataset", "DatasetError", "DatasetFileError"]
