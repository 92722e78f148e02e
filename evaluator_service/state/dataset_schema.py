"""The datasets' tables and statements: versioned datasets of interaction records, people's labels on their
examples and per-scorer outcome counts (what judge calibration compares and corrects).

Part of the shared state's schema (:mod:`evaluator_service.state.schema` puts every table together), in the
same common subset of SQLite and PostgreSQL with ``%s`` placeholders.
"""

from __future__ import annotations

TABLES = (
    # Datasets of interaction records, versioned (state/dataset_rows.py): an example row lives from the
    # version that added it until the one that removed it, so NAME@V reads what the dataset held at V.
    """CREATE TABLE IF NOT EXISTS judgeval_datasets (
        name TEXT PRIMARY KEY,
        description TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,
        updated_at DOUBLE PRECISION NOT NULL,
        version BIGINT NOT NULL,
        max_examples BIGINT,
        max_age_s DOUBLE PRECISION
    )""",
    """CREATE TABLE IF NOT EXISTS judgeval_dataset_versions (
        dataset TEXT NOT NULL,
        version BIGINT NOT NULL,
        at DOUBLE PRECISION NOT NULL,
        added BIGINT NOT NULL,
        removed BIGINT NOT NULL,
        note TEXT NOT NULL,
        PRIMARY KEY (dataset, version)
    )""",
    """CREATE TABLE IF NOT EXISTS judgeval_dataset_examples (
        dataset TEXT NOT NULL,
        record_id TEXT NOT NULL,
        added_version BIGINT NOT NULL,
        removed_version BIGINT,
        scorer TEXT NOT NULL,
        passed INTEGER,
        behavior_id TEXT,
        at DOUBLE PRECISION NOT NULL,
        record TEXT NOT NULL,
        PRIMARY KEY (dataset, record_id, added_version)
    )""",
    """CREATE INDEX IF NOT EXISTS judgeval_dataset_examples_live
        ON judgeval_dataset_examples (dataset, removed_version, at)""",
    # Human labels on dataset examples, with the judge's verdict when labeled (state/dataset_labels.py).
    """CREATE TABLE IF NOT EXISTS judgeval_dataset_labels (
        dataset TEXT NOT NULL,
        record_id TEXT NOT NULL,
        scorer TEXT NOT NULL,
        label TEXT NOT NULL,
        judge_passed INTEGER,
        labeler TEXT NOT NULL,
        note TEXT NOT NULL,
        at DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (dataset, record_id)
    )""",
    "CREATE INDEX IF NOT EXISTS judgeval_dataset_labels_by_scorer ON judgeval_dataset_labels (scorer)",
    # Pass/fail counts per scorer per minute: the observed failure rate calibration corrects
    # (state/scorer_outcome_counts.py).
    """CREATE TABLE IF NOT EXISTS judgeval_scorer_outcome_counts (
        scorer TEXT NOT NULL,
        bucket BIGINT NOT NULL,
        scores BIGINT NOT NULL,
        failures BIGINT NOT NULL,
        PRIMARY KEY (scorer, bucket)
    )""",
)

# Datasets (state/dataset_rows.py). "At version V" is added_version <= V and not removed by V.
_DATASET = "name, description, created_at, updated_at, version, max_examples, max_age_s"
_LIVE_AT = "added_version <= %s AND (removed_version IS NULL OR removed_version > %s)"
INSERT_DATASET = f"""INSERT INTO judgeval_datasets ({_DATASET}) VALUES (%s, %s, %s, %s, 0, %s, %s)
    ON CONFLICT (name) DO NOTHING"""
UPDATE_DATASET_SETTINGS = """UPDATE judgeval_datasets SET description = %s, max_examples = %s, max_age_s = %s
    WHERE name = %s"""
SELECT_DATASET = f"SELECT {_DATASET} FROM judgeval_datasets WHERE name = %s"
SELECT_DATASETS = f"SELECT {_DATASET} FROM judgeval_datasets ORDER BY name"
SET_DATASET_VERSION = "UPDATE judgeval_datasets SET version = %s, updated_at = %s WHERE name = %s"
INSERT_DATASET_VERSION = """INSERT INTO judgeval_dataset_versions (dataset, version, at, added, removed, note)
    VALUES (%s, %s, %s, %s, %s, %s)"""
SELECT_DATASET_VERSIONS = """SELECT version, at, added, removed, note FROM judgeval_dataset_versions
    WHERE dataset = %s ORDER BY version"""
COUNT_DATASET_EXAMPLES_AT = f"""SELECT COUNT(*) FROM judgeval_dataset_examples
    WHERE dataset = %s AND {_LIVE_AT}"""
COUNT_LIVE_DATASET_EXAMPLES = """SELECT dataset, COUNT(*) FROM judgeval_dataset_examples
    WHERE removed_version IS NULL GROUP BY dataset"""
SELECT_LIVE_DATASET_EXAMPLE = """SELECT 1 FROM judgeval_dataset_examples
    WHERE dataset = %s AND record_id = %s AND removed_version IS NULL"""
INSERT_DATASET_EXAMPLE = """INSERT INTO judgeval_dataset_examples (dataset, record_id, added_version,
    removed_version, scorer, passed, behavior_id, at, record) VALUES (%s, %s, %s, NULL, %s, %s, %s, %s, %s)"""
REMOVE_DATASET_EXAMPLE = """UPDATE judgeval_dataset_examples SET removed_version = %s
    WHERE dataset = %s AND record_id = %s AND removed_version IS NULL"""
_EXAMPLE = "record, added_version, removed_version, at, record_id"
# (dataset, V, V, the optional filters' values, the cursor, limit); filters are appended by the caller
# from fixed fragments, never from values.
SELECT_DATASET_EXAMPLES_AT = f"""SELECT {_EXAMPLE} FROM judgeval_dataset_examples
    WHERE dataset = %s AND {_LIVE_AT}"""
DATASET_EXAMPLES_BY_SCORER = " AND scorer = %s"
DATASET_EXAMPLES_PASSED = " AND passed = %s"
DATASET_EXAMPLES_ERRORS = " AND passed IS NULL"
DATASET_EXAMPLES_BY_BEHAVIOR = " AND behavior_id = %s"
# Keyset paging: the page after (at, record_id), in that order (an index covers dataset, at).
DATASET_EXAMPLES_AFTER = " AND (at > %s OR (at = %s AND record_id > %s))"
DATASET_EXAMPLES_UNLABELED = """ AND NOT EXISTS (SELECT 1 FROM judgeval_dataset_labels l
    WHERE l.dataset = judgeval_dataset_examples.dataset
        AND l.record_id = judgeval_dataset_examples.record_id)"""
DATASET_EXAMPLES_PAGE = " ORDER BY at, record_id LIMIT %s"
# Retention: live examples older than a time, and the live examples beyond the newest N.
SELECT_LIVE_DATASET_IDS_BEFORE = """SELECT record_id FROM judgeval_dataset_examples
    WHERE dataset = %s AND removed_version IS NULL AND at < %s"""
SELECT_LIVE_DATASET_IDS_NEWEST_FIRST = """SELECT record_id FROM judgeval_dataset_examples
    WHERE dataset = %s AND removed_version IS NULL ORDER BY at DESC, record_id DESC"""
DELETE_DATASET_EXAMPLES = "DELETE FROM judgeval_dataset_examples WHERE dataset = %s"
DELETE_DATASET_VERSIONS = "DELETE FROM judgeval_dataset_versions WHERE dataset = %s"
DELETE_DATASET = "DELETE FROM judgeval_datasets WHERE name = %s"
# Dataset labels and scorer outcome counts (state/dataset_labels.py, state/scorer_outcome_counts.py).
_LABEL = "dataset, record_id, scorer, label, judge_passed, labeler, note, at"
UPSERT_DATASET_LABEL = f"""INSERT INTO judgeval_dataset_labels ({_LABEL})
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
    ON CONFLICT (dataset, record_id) DO UPDATE SET scorer = excluded.scorer, label = excluded.label,
        judge_passed = excluded.judge_passed, labeler = excluded.labeler, note = excluded.note,
        at = excluded.at"""
DELETE_DATASET_LABEL = "DELETE FROM judgeval_dataset_labels WHERE dataset = %s AND record_id = %s"
SELECT_DATASET_LABELS = (f"SELECT {_LABEL} FROM judgeval_dataset_labels WHERE dataset = %s "
                         "ORDER BY at, record_id")
SELECT_SCORER_LABELS = (f"SELECT {_LABEL} FROM judgeval_dataset_labels WHERE scorer = %s "
                        "ORDER BY at, record_id")
SELECT_SCORER_LABELS_IN = (f"SELECT {_LABEL} FROM judgeval_dataset_labels WHERE scorer = %s AND dataset = %s "
                           "ORDER BY at, record_id")
# The stored record of a live dataset example (judgeval_dataset_examples is state/dataset_rows.py's table):
# what a label is checked against and takes the judge's verdict from.
SELECT_LIVE_DATASET_RECORD = """SELECT record FROM judgeval_dataset_examples
    WHERE dataset = %s AND record_id = %s AND removed_version IS NULL"""
SELECT_LABELED_SCORERS = "SELECT DISTINCT scorer FROM judgeval_dataset_labels ORDER BY scorer"
ADD_SCORER_OUTCOME_COUNTS = """INSERT INTO judgeval_scorer_outcome_counts (scorer, bucket, scores, failures)
    VALUES (%s, %s, %s, %s) ON CONFLICT (scorer, bucket) DO UPDATE SET
        scores = judgeval_scorer_outcome_counts.scores + excluded.scores,
        failures = judgeval_scorer_outcome_counts.failures + excluded.failures"""
SELECT_SCORER_OUTCOME_COUNTS = """SELECT COALESCE(SUM(scores), 0), COALESCE(SUM(failures), 0)
    FROM judgeval_scorer_outcome_counts WHERE scorer = %s AND bucket >= %s"""
PRUNE_SCORER_OUTCOME_COUNTS = "DELETE FROM judgeval_scorer_outcome_counts WHERE bucket < %s"
