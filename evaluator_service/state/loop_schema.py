"""The improvement loop's tables and statements: datasets, people's labels and per-scorer outcome counts
(judge calibration), scorer pointers and shadow results, and backfill claims.

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
    # Current and shadow versions of uploaded scorers, promotions, and shadow results
    # (state/scorer_pointers.py, state/shadow_rows.py). A scorer without a pointer row runs its latest
    # version.
    """CREATE TABLE IF NOT EXISTS judgeval_scorer_pointers (
        name TEXT PRIMARY KEY,
        current_version INTEGER,
        shadow_version INTEGER,
        shadow_by TEXT NOT NULL,
        shadow_since DOUBLE PRECISION,
        promoted_by TEXT NOT NULL,
        promoted_at DOUBLE PRECISION
    )""",
    """CREATE TABLE IF NOT EXISTS judgeval_scorer_promotions (
        name TEXT NOT NULL,
        version INTEGER NOT NULL,
        previous_version INTEGER,
        promoted_by TEXT NOT NULL,
        at DOUBLE PRECISION NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS judgeval_scorer_promotions_by_name ON judgeval_scorer_promotions (name, at)",
    """CREATE TABLE IF NOT EXISTS judgeval_shadow_results (
        record_id TEXT NOT NULL,
        shadow_version INTEGER NOT NULL,
        scorer TEXT NOT NULL,
        trace_id TEXT NOT NULL,
        span_id TEXT NOT NULL,
        current_version INTEGER NOT NULL,
        current_score DOUBLE PRECISION,
        current_passed INTEGER,
        current_reason TEXT NOT NULL,
        shadow_score DOUBLE PRECISION,
        shadow_passed INTEGER,
        shadow_reason TEXT NOT NULL,
        at DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (record_id, shadow_version)
    )""",
    "CREATE INDEX IF NOT EXISTS judgeval_shadow_results_by_scorer ON judgeval_shadow_results "
    "(scorer, shadow_version, at)",
    "CREATE INDEX IF NOT EXISTS judgeval_shadow_results_by_age ON judgeval_shadow_results (at)",
    # Backfill (state/backfill_rows.py): spans a scorer version scored after the fact, claimed then done.
    """CREATE TABLE IF NOT EXISTS judgeval_backfill_spans (
        scorer TEXT NOT NULL,
        version TEXT NOT NULL,
        trace_id TEXT NOT NULL,
        span_id TEXT NOT NULL,
        state TEXT NOT NULL,
        holder TEXT NOT NULL,
        claimed_at DOUBLE PRECISION NOT NULL,
        run_id TEXT NOT NULL,
        PRIMARY KEY (scorer, version, trace_id, span_id)
    )""",
    # Dataset replays (state/replay_runs.py): one row per run, the finished cases of its calls added up.
    """CREATE TABLE IF NOT EXISTS judgeval_replay_runs (
        run_id TEXT PRIMARY KEY,
        started_at DOUBLE PRECISION NOT NULL,
        at DOUBLE PRECISION NOT NULL,
        scorer TEXT NOT NULL,
        scorer_version INTEGER NOT NULL,
        scorer_source TEXT NOT NULL,
        dataset TEXT NOT NULL,
        dataset_version INTEGER,
        planned_cases BIGINT NOT NULL,
        calls BIGINT NOT NULL,
        cases BIGINT NOT NULL,
        scored BIGINT NOT NULL,
        passed BIGINT NOT NULL,
        errors BIGINT NOT NULL,
        production_cases BIGINT NOT NULL,
        production_passed BIGINT NOT NULL,
        pass_to_fail BIGINT NOT NULL,
        fail_to_pass BIGINT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS judgeval_replay_runs_by_age ON judgeval_replay_runs (at)",
    "CREATE INDEX IF NOT EXISTS judgeval_replay_runs_by_scorer ON judgeval_replay_runs (scorer, at)",
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
# --- Scorer pointers, promotions and shadow results (state/scorer_pointers.py, state/shadow_rows.py) ---
_POINTER = "name, current_version, shadow_version, shadow_by, shadow_since, promoted_by, promoted_at"
SELECT_SCORER_POINTERS = f"SELECT {_POINTER} FROM judgeval_scorer_pointers ORDER BY name"
SELECT_SCORER_POINTER = f"SELECT {_POINTER} FROM judgeval_scorer_pointers WHERE name = %s"
SELECT_VERSION_NUMBERS_OF = "SELECT version FROM judgeval_scorer_versions WHERE name = %s ORDER BY version"
# (name, current version to pin unless one is, shadow version, by, at)
SET_SCORER_SHADOW = """INSERT INTO judgeval_scorer_pointers (name, current_version, shadow_version, shadow_by,
    shadow_since, promoted_by, promoted_at) VALUES (%s, %s, %s, %s, %s, '', NULL)
    ON CONFLICT (name) DO UPDATE SET shadow_version = excluded.shadow_version,
        current_version = COALESCE(judgeval_scorer_pointers.current_version, excluded.current_version),
        shadow_by = excluded.shadow_by, shadow_since = excluded.shadow_since"""
# (current version to pin unless one is, name)
CLEAR_SCORER_SHADOW = """UPDATE judgeval_scorer_pointers SET shadow_version = NULL, shadow_since = NULL,
    current_version = COALESCE(current_version, %s) WHERE name = %s"""
CLEAR_SCORER_CURRENT = "UPDATE judgeval_scorer_pointers SET current_version = NULL WHERE name = %s"
# (name, version, shadow version kept, by, at)
PROMOTE_SCORER = """INSERT INTO judgeval_scorer_pointers (name, current_version, shadow_version, shadow_by,
    shadow_since, promoted_by, promoted_at) VALUES (%s, %s, %s, '', NULL, %s, %s)
    ON CONFLICT (name) DO UPDATE SET current_version = excluded.current_version,
        shadow_version = excluded.shadow_version,
        shadow_since = CASE WHEN excluded.shadow_version IS NULL THEN NULL
            ELSE judgeval_scorer_pointers.shadow_since END,
        promoted_by = excluded.promoted_by, promoted_at = excluded.promoted_at"""
INSERT_SCORER_PROMOTION = """INSERT INTO judgeval_scorer_promotions (name, version, previous_version,
    promoted_by, at) VALUES (%s, %s, %s, %s, %s)"""
SELECT_SCORER_PROMOTIONS = """SELECT name, version, previous_version, promoted_by, at
    FROM judgeval_scorer_promotions WHERE name = %s ORDER BY at DESC LIMIT %s"""
DELETE_SCORER_POINTER = "DELETE FROM judgeval_scorer_pointers WHERE name = %s"
CLEAR_DELETED_SHADOW = """UPDATE judgeval_scorer_pointers SET shadow_version = NULL, shadow_since = NULL
    WHERE name = %s AND shadow_version = %s"""
CLEAR_DELETED_CURRENT = """UPDATE judgeval_scorer_pointers SET current_version = NULL
    WHERE name = %s AND current_version = %s"""
_SHADOW_RESULT = ("record_id, shadow_version, scorer, trace_id, span_id, current_version, current_score, "
                  "current_passed, current_reason, shadow_score, shadow_passed, shadow_reason, at")
UPSERT_SHADOW_RESULT = f"""INSERT INTO judgeval_shadow_results ({_SHADOW_RESULT})
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
    ON CONFLICT (record_id, shadow_version) DO UPDATE SET current_version = excluded.current_version,
        current_score = excluded.current_score, current_passed = excluded.current_passed,
        current_reason = excluded.current_reason, shadow_score = excluded.shadow_score,
        shadow_passed = excluded.shadow_passed, shadow_reason = excluded.shadow_reason, at = excluded.at"""
COUNT_SHADOW_RESULTS = "SELECT COUNT(*) FROM judgeval_shadow_results"
PRUNE_SHADOW_RESULTS_BY_AGE = "DELETE FROM judgeval_shadow_results WHERE at < %s"
# All but the newest N: everything at or before the (N+1)th newest (a NULL bound, when there are no more than
# N, deletes nothing).
PRUNE_SHADOW_RESULTS_BY_COUNT = """DELETE FROM judgeval_shadow_results WHERE at <=
    (SELECT at FROM judgeval_shadow_results ORDER BY at DESC LIMIT 1 OFFSET %s)"""
SELECT_SHADOW_VERSIONS = """SELECT DISTINCT shadow_version FROM judgeval_shadow_results WHERE scorer = %s
    ORDER BY shadow_version"""
# (scorer, shadow version): count, scored/passed per side, compared, agreed, mean delta.
SHADOW_TOTALS = """SELECT COUNT(*),
    SUM(CASE WHEN current_passed IS NOT NULL THEN 1 ELSE 0 END),
    SUM(CASE WHEN shadow_passed IS NOT NULL THEN 1 ELSE 0 END),
    SUM(CASE WHEN current_passed = 1 THEN 1 ELSE 0 END),
    SUM(CASE WHEN shadow_passed = 1 THEN 1 ELSE 0 END),
    SUM(CASE WHEN current_passed IS NOT NULL AND shadow_passed IS NOT NULL THEN 1 ELSE 0 END),
    SUM(CASE WHEN current_passed IS NOT NULL AND current_passed = shadow_passed THEN 1 ELSE 0 END),
    AVG(shadow_score - current_score)
    FROM judgeval_shadow_results WHERE scorer = %s AND shadow_version = %s"""
SHADOW_CURRENT_VERSIONS = """SELECT DISTINCT current_version FROM judgeval_shadow_results
    WHERE scorer = %s AND shadow_version = %s ORDER BY current_version"""
_SHADOW_CHANGED = "COALESCE(current_passed, -1) <> COALESCE(shadow_passed, -1)"
COUNT_SHADOW_CHANGED = f"""SELECT COUNT(*) FROM judgeval_shadow_results
    WHERE scorer = %s AND shadow_version = %s AND {_SHADOW_CHANGED}"""
SELECT_SHADOW_CHANGED = f"""SELECT {_SHADOW_RESULT} FROM judgeval_shadow_results
    WHERE scorer = %s AND shadow_version = %s AND {_SHADOW_CHANGED} ORDER BY at DESC, record_id LIMIT %s"""
# Backfill (state/backfill_rows.py).
SELECT_BACKFILLED_SPANS = """SELECT span_id FROM judgeval_backfill_spans
    WHERE scorer = %s AND version = %s AND trace_id = %s AND state = %s"""
# (key..., claimed, holder, now, run_id, claimed, now - lease): a new row, or a stale claim taken over.
CLAIM_BACKFILL_SPAN = """INSERT INTO judgeval_backfill_spans (scorer, version, trace_id, span_id, state,
    holder, claimed_at, run_id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
    ON CONFLICT (scorer, version, trace_id, span_id) DO UPDATE SET holder = excluded.holder,
    claimed_at = excluded.claimed_at, run_id = excluded.run_id
    WHERE judgeval_backfill_spans.state = %s AND judgeval_backfill_spans.claimed_at < %s"""
SELECT_BACKFILL_SPAN = """SELECT state, holder FROM judgeval_backfill_spans
    WHERE scorer = %s AND version = %s AND trace_id = %s AND span_id = %s"""
FINISH_BACKFILL_SPAN = """UPDATE judgeval_backfill_spans SET state = %s
    WHERE scorer = %s AND version = %s AND trace_id = %s AND span_id = %s AND holder = %s"""
RELEASE_BACKFILL_SPAN = """DELETE FROM judgeval_backfill_spans
    WHERE scorer = %s AND version = %s AND trace_id = %s AND span_id = %s AND holder = %s AND state = %s"""
# Replay runs (state/replay_runs.py): a run's later records add their counts to its row.
_REPLAY_RUN = ("run_id, started_at, at, scorer, scorer_version, scorer_source, dataset, dataset_version, "
               "planned_cases, calls, cases, scored, passed, errors, production_cases, production_passed, "
               "pass_to_fail, fail_to_pass")
_ADD = "{0} = judgeval_replay_runs.{0} + excluded.{0}"
ADD_REPLAY_RUN_CALL = f"""INSERT INTO judgeval_replay_runs ({_REPLAY_RUN})
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
    ON CONFLICT (run_id) DO UPDATE SET at = excluded.at, """ + ", ".join(
    _ADD.format(c) for c in ("calls", "cases", "scored", "passed", "errors", "production_cases",
                             "production_passed", "pass_to_fail", "fail_to_pass"))
COUNT_REPLAY_RUNS = "SELECT COUNT(*) FROM judgeval_replay_runs"
# All but the newest N (a NULL bound, when there are no more than N, deletes nothing).
PRUNE_REPLAY_RUNS = """DELETE FROM judgeval_replay_runs WHERE at <=
    (SELECT at FROM judgeval_replay_runs ORDER BY at DESC, run_id DESC LIMIT 1 OFFSET %s)"""
SELECT_REPLAY_RUNS = f"SELECT {_REPLAY_RUN} FROM judgeval_replay_runs ORDER BY at DESC, run_id DESC LIMIT %s"
SELECT_REPLAY_RUNS_OF = f"""SELECT {_REPLAY_RUN} FROM judgeval_replay_runs WHERE scorer = %s
    ORDER BY at DESC, run_id DESC LIMIT %s"""
