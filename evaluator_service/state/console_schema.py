"""The console's tables and statements: score rollups every replica adds to, the bounded list of failing
interactions, and spans that asked for a score and got none (state/console_rows.py, state/console_reads.py).

Part of the shared state's schema (:mod:`evaluator_service.state.schema` puts every table together), in the
same common subset of SQLite and PostgreSQL with ``%s`` placeholders.
"""

from __future__ import annotations

TABLES = (
    # Console data (state/console_rows.py): score rollups per time bucket (``granularity`` seconds: minute
    # and hour rows, written together) x scorer x agent x service x environment, added to by every replica;
    # the bounded list of failing or errored interactions; spans that asked for a score and got none.
    """CREATE TABLE IF NOT EXISTS judgeval_score_rollups (
        granularity INTEGER NOT NULL,
        bucket BIGINT NOT NULL,
        scorer TEXT NOT NULL,
        agent TEXT NOT NULL,
        service TEXT NOT NULL,
        environment TEXT NOT NULL,
        scores BIGINT NOT NULL,
        passes BIGINT NOT NULL,
        failures BIGINT NOT NULL,
        errors BIGINT NOT NULL,
        value_sum DOUBLE PRECISION NOT NULL,
        h_below BIGINT NOT NULL, h0 BIGINT NOT NULL, h1 BIGINT NOT NULL, h2 BIGINT NOT NULL,
        h3 BIGINT NOT NULL, h4 BIGINT NOT NULL, h5 BIGINT NOT NULL, h6 BIGINT NOT NULL, h7 BIGINT NOT NULL,
        h8 BIGINT NOT NULL, h9 BIGINT NOT NULL, h_above BIGINT NOT NULL,
        latency_sum DOUBLE PRECISION NOT NULL,
        latency_count BIGINT NOT NULL,
        cost_sum DOUBLE PRECISION NOT NULL,
        cost_count BIGINT NOT NULL,
        PRIMARY KEY (granularity, bucket, scorer, agent, service, environment)
    )""",
    """CREATE TABLE IF NOT EXISTS judgeval_failing_interactions (
        id TEXT PRIMARY KEY,
        at DOUBLE PRECISION NOT NULL,
        scorer TEXT NOT NULL,
        agent TEXT NOT NULL,
        service TEXT NOT NULL,
        environment TEXT NOT NULL,
        behavior_id TEXT,
        score DOUBLE PRECISION,
        outcome TEXT NOT NULL,
        record TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS judgeval_failing_interactions_by_at "
    "ON judgeval_failing_interactions (at, id)",
    """CREATE TABLE IF NOT EXISTS judgeval_not_evaluated_counts (
        granularity INTEGER NOT NULL,
        bucket BIGINT NOT NULL,
        reason TEXT NOT NULL,
        scorer TEXT NOT NULL,
        service TEXT NOT NULL,
        spans BIGINT NOT NULL,
        PRIMARY KEY (granularity, bucket, reason, scorer, service)
    )""",
    """CREATE TABLE IF NOT EXISTS judgeval_not_evaluated_samples (
        id TEXT PRIMARY KEY,
        at DOUBLE PRECISION NOT NULL,
        trace_id TEXT NOT NULL,
        span_id TEXT NOT NULL,
        scorer TEXT NOT NULL,
        service TEXT NOT NULL,
        agent TEXT NOT NULL,
        reason TEXT NOT NULL,
        detail TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS judgeval_not_evaluated_samples_by_at "
    "ON judgeval_not_evaluated_samples (at, id)",
)

# Console data (state/console_rows.py). Rollup columns added to on conflict, in one place so the upsert and
# the reads agree on them.
ROLLUP_SUMS = ("scores", "passes", "failures", "errors", "value_sum", "h_below", "h0", "h1", "h2", "h3", "h4",
               "h5", "h6", "h7", "h8", "h9", "h_above", "latency_sum", "latency_count", "cost_sum",
               "cost_count")
_ROLLUP_KEY = "granularity, bucket, scorer, agent, service, environment"
ADD_SCORE_ROLLUP = (
    f"INSERT INTO judgeval_score_rollups ({_ROLLUP_KEY}, {', '.join(ROLLUP_SUMS)}) "
    f"VALUES ({', '.join(['%s'] * (6 + len(ROLLUP_SUMS)))}) ON CONFLICT ({_ROLLUP_KEY}) DO UPDATE SET "
    + ", ".join(f"{c} = judgeval_score_rollups.{c} + excluded.{c}" for c in ROLLUP_SUMS))
# (slot origin, step, slot origin, step, granularity, start, end) + filters; a slot is origin + k * step.
SELECT_ROLLUP_SLOTS = (
    "SELECT %s + ((bucket - %s) / %s) * %s AS slot, {key}, "
    + ", ".join(f"SUM({c})" for c in ROLLUP_SUMS)
    + " FROM judgeval_score_rollups WHERE granularity = %s AND bucket >= %s AND bucket < %s{filters}"
    " GROUP BY slot, {key} ORDER BY slot")
"""Format with ``key`` (a column: ``scorer`` or ``agent``) and ``filters`` (`` AND column = %s`` ...)."""
PRUNE_SCORE_ROLLUPS = "DELETE FROM judgeval_score_rollups WHERE granularity = %s AND bucket < %s"
_FAILING = "id, at, scorer, agent, service, environment, behavior_id, score, outcome, record"
# A span scored again (at-least-once scoring) replaces its row.
UPSERT_FAILING_INTERACTION = f"""INSERT INTO judgeval_failing_interactions ({_FAILING})
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET at = excluded.at,
        behavior_id = excluded.behavior_id, score = excluded.score, outcome = excluded.outcome,
        record = excluded.record"""
SELECT_FAILING_INTERACTIONS = ("SELECT " + _FAILING + " FROM judgeval_failing_interactions "
                               "WHERE true{filters} ORDER BY at DESC, id DESC LIMIT %s")
"""Format with ``filters`` (`` AND ...``); newest first, keyset-paginated on ``(at, id)``."""
SELECT_FAILING_INTERACTION = f"SELECT {_FAILING} FROM judgeval_failing_interactions WHERE id = %s"
PRUNE_FAILING_BY_AGE = "DELETE FROM judgeval_failing_interactions WHERE at < %s"
# (keep - 1): everything older than the keep-th newest row goes (rows sharing its time stay).
PRUNE_FAILING_BY_COUNT = """DELETE FROM judgeval_failing_interactions WHERE at < (SELECT at FROM
    judgeval_failing_interactions ORDER BY at DESC LIMIT 1 OFFSET %s)"""
ADD_NOT_EVALUATED = """INSERT INTO judgeval_not_evaluated_counts (granularity, bucket, reason, scorer,
    service, spans) VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (granularity, bucket, reason, scorer, service)
    DO UPDATE SET spans = judgeval_not_evaluated_counts.spans + excluded.spans"""
# (slot origin, step, slot origin, step, granularity, start, end) + filters.
SELECT_NOT_EVALUATED_SLOTS = """SELECT %s + ((bucket - %s) / %s) * %s AS slot, reason, scorer, service,
    SUM(spans) FROM judgeval_not_evaluated_counts
    WHERE granularity = %s AND bucket >= %s AND bucket < %s{filters}
    GROUP BY slot, reason, scorer, service ORDER BY slot"""
PRUNE_NOT_EVALUATED = "DELETE FROM judgeval_not_evaluated_counts WHERE granularity = %s AND bucket < %s"
_NOT_EVALUATED = "id, at, trace_id, span_id, scorer, service, agent, reason, detail"
UPSERT_NOT_EVALUATED_SAMPLE = f"""INSERT INTO judgeval_not_evaluated_samples ({_NOT_EVALUATED})
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET at = excluded.at,
        reason = excluded.reason, detail = excluded.detail"""
SELECT_NOT_EVALUATED_SAMPLES = ("SELECT " + _NOT_EVALUATED + " FROM judgeval_not_evaluated_samples "
                                "WHERE at >= %s AND at < %s{filters} ORDER BY at DESC, id DESC LIMIT %s")
PRUNE_NOT_EVALUATED_SAMPLES_BY_AGE = "DELETE FROM judgeval_not_evaluated_samples WHERE at < %s"
PRUNE_NOT_EVALUATED_SAMPLES_BY_COUNT = """DELETE FROM judgeval_not_evaluated_samples WHERE at < (
    SELECT at FROM judgeval_not_evaluated_samples ORDER BY at DESC LIMIT 1 OFFSET %s)"""
