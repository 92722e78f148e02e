"""The improvement loop's tables and statements: scorer pointers (current and shadow versions), promotions
and shadow results, backfill claims and dataset replay runs. The datasets, labels and outcome counts they
work from are in :mod:`~evaluator_service.state.dataset_schema`.

Part of the shared state's schema (:mod:`evaluator_service.state.schema` puts every table together), in the
same common subset of SQLite and PostgreSQL with ``%s`` placeholders.
"""

from __future__ import annotations

TABLES = (
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
