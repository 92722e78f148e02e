"""SQL shared by the SQLite and PostgreSQL backends, written in the common subset of both dialects.

Placeholders are ``%s`` (psycopg); the SQLite backend rewrites them to ``?``. Every table is prefixed
``judgeval_`` so the schema can live in a database shared with other applications.
"""

from __future__ import annotations

from evaluator_service.state.alert_state import ALERT_SCHEMA

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS judgeval_paused_scorers (
        name TEXT PRIMARY KEY,
        reason TEXT NOT NULL,
        paused_at DOUBLE PRECISION NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS judgeval_scorer_versions (
        name TEXT NOT NULL,
        version INTEGER NOT NULL,
        name_key TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,
        class_name TEXT NOT NULL,
        source_filename TEXT NOT NULL,
        requirements_hash TEXT NOT NULL,
        source TEXT NOT NULL,
        requirements TEXT NOT NULL,
        PRIMARY KEY (name, version)
    )""",
    "CREATE INDEX IF NOT EXISTS judgeval_scorer_versions_by_key ON judgeval_scorer_versions (name_key)",
    """CREATE TABLE IF NOT EXISTS judgeval_state_changes (
        id INTEGER PRIMARY KEY,
        counter BIGINT NOT NULL
    )""",
    "INSERT INTO judgeval_state_changes (id, counter) VALUES (1, 0) ON CONFLICT (id) DO NOTHING",
    # Behaviors: groups of similar failures (evaluator_service.behaviors); SQL in state/behavior_rows.py.
    """CREATE TABLE IF NOT EXISTS judgeval_behaviors (
        id TEXT PRIMARY KEY,
        scorer TEXT NOT NULL,
        space TEXT NOT NULL,
        name TEXT NOT NULL,
        name_source TEXT NOT NULL,
        centroid TEXT NOT NULL,
        member_count BIGINT NOT NULL,
        first_seen DOUBLE PRECISION NOT NULL,
        last_seen DOUBLE PRECISION NOT NULL,
        examples TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS judgeval_behaviors_by_scorer ON judgeval_behaviors (scorer, space)",
    *ALERT_SCHEMA,  # alerts: firing state and shared window buckets (state/alert_state.py)
)

_METADATA = "name, version, sha256, created_at, class_name, source_filename, requirements_hash"

BUMP_COUNTER = "UPDATE judgeval_state_changes SET counter = counter + 1 WHERE id = 1"
READ_COUNTER = "SELECT counter FROM judgeval_state_changes WHERE id = 1"

UPSERT_PAUSE = """INSERT INTO judgeval_paused_scorers (name, reason, paused_at) VALUES (%s, %s, %s)
    ON CONFLICT (name) DO UPDATE SET reason = excluded.reason, paused_at = excluded.paused_at"""
DELETE_PAUSE = "DELETE FROM judgeval_paused_scorers WHERE name = %s"
SELECT_PAUSES_NAMED = "SELECT name FROM judgeval_paused_scorers WHERE name = %s"
SELECT_PAUSES = "SELECT name, reason, paused_at FROM judgeval_paused_scorers ORDER BY name"

SELECT_VERSIONS = f"SELECT {_METADATA} FROM judgeval_scorer_versions ORDER BY name, version"
SELECT_VERSIONS_BY_KEY = f"SELECT {_METADATA} FROM judgeval_scorer_versions WHERE name_key = %s"
SELECT_VERSIONS_OF = f"SELECT {_METADATA} FROM judgeval_scorer_versions WHERE name = %s ORDER BY version"
SELECT_FILES = (f"SELECT {_METADATA}, source, requirements FROM judgeval_scorer_versions "
                "WHERE name = %s AND version = %s")
DELETE_VERSION = "DELETE FROM judgeval_scorer_versions WHERE name = %s AND version = %s"
DELETE_ALL_VERSIONS = "DELETE FROM judgeval_scorer_versions WHERE name = %s"
# Overwrite keeps the version number but replaces everything else, so an upsert covers both cases.
UPSERT_VERSION = f"""INSERT INTO judgeval_scorer_versions ({_METADATA}, name_key, source, requirements)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
    ON CONFLICT (name, version) DO UPDATE SET sha256 = excluded.sha256, created_at = excluded.created_at,
        class_name = excluded.class_name, source_filename = excluded.source_filename,
        requirements_hash = excluded.requirements_hash, source = excluded.source,
        requirements = excluded.requirements"""
