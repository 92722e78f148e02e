"""Every table and every statement of the shared state, in the common subset of SQLite and PostgreSQL.

Placeholders are ``%s`` (psycopg); the SQLite backend rewrites them to ``?``. Every table is prefixed
``judgeval_`` so the schema can live in a database shared with other applications. Values the code owns
(alert states, name sources) are passed as parameters, never written into the SQL. The modules of the
four concerns (:mod:`~evaluator_service.state.pauses`, :mod:`~evaluator_service.state.scorer_versions`,
:mod:`~evaluator_service.state.alert_rows`, :mod:`~evaluator_service.state.behavior_rows`) run these
statements; only the backends' own locking and connection set-up stay in ``sqlite.py`` and ``postgres.py``.
"""

from __future__ import annotations

SCHEMA = (
    # The change counter: every write other replicas must hear about bumps it (see state/watch.py).
    """CREATE TABLE IF NOT EXISTS judgeval_state_changes (
        id INTEGER PRIMARY KEY,
        counter BIGINT NOT NULL
    )""",
    "INSERT INTO judgeval_state_changes (id, counter) VALUES (1, 0) ON CONFLICT (id) DO NOTHING",
    # Pauses (state/pauses.py).
    """CREATE TABLE IF NOT EXISTS judgeval_paused_scorers (
        name TEXT PRIMARY KEY,
        reason TEXT NOT NULL,
        paused_at DOUBLE PRECISION NOT NULL
    )""",
    # Uploaded scorers (state/scorer_versions.py).
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
    # Behaviors: groups of similar failures (state/behavior_rows.py).
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
    # Alerts: firing state and shared window buckets (state/alert_rows.py).
    """CREATE TABLE IF NOT EXISTS judgeval_alert_states (
        name TEXT PRIMARY KEY,
        state TEXT NOT NULL,
        firing_since DOUBLE PRECISION,
        last_fired_at DOUBLE PRECISION,
        last_notified_at DOUBLE PRECISION,
        last_value DOUBLE PRECISION,
        fired_count BIGINT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS judgeval_alert_buckets (
        name TEXT NOT NULL,
        bucket BIGINT NOT NULL,
        total BIGINT NOT NULL,
        failures BIGINT NOT NULL,
        PRIMARY KEY (name, bucket)
    )""",
    # Sessions scored across replicas: each replica's part of a session, and who scores it
    # (state/session_rows.py).
    """CREATE TABLE IF NOT EXISTS judgeval_session_parts (
        session_id TEXT NOT NULL,
        trace_id TEXT NOT NULL,
        replica TEXT NOT NULL,
        first_seen DOUBLE PRECISION NOT NULL,
        last_seen DOUBLE PRECISION NOT NULL,
        part TEXT NOT NULL,
        PRIMARY KEY (session_id, trace_id)
    )""",
    """CREATE TABLE IF NOT EXISTS judgeval_session_leases (
        session_id TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        expires_at DOUBLE PRECISION NOT NULL,
        revision BIGINT NOT NULL,
        scored_through DOUBLE PRECISION NOT NULL
    )""",
)

# Change counter.
BUMP_COUNTER = "UPDATE judgeval_state_changes SET counter = counter + 1 WHERE id = 1"
READ_COUNTER = "SELECT counter FROM judgeval_state_changes WHERE id = 1"

# Pauses.
UPSERT_PAUSE = """INSERT INTO judgeval_paused_scorers (name, reason, paused_at) VALUES (%s, %s, %s)
    ON CONFLICT (name) DO UPDATE SET reason = excluded.reason, paused_at = excluded.paused_at"""
DELETE_PAUSE = "DELETE FROM judgeval_paused_scorers WHERE name = %s"
SELECT_PAUSES_NAMED = "SELECT name FROM judgeval_paused_scorers WHERE name = %s"
SELECT_PAUSES = "SELECT name, reason, paused_at FROM judgeval_paused_scorers ORDER BY name"

# Scorer versions.
_METADATA = "name, version, sha256, created_at, class_name, source_filename, requirements_hash"
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

# Behaviors.
_BEHAVIOR = "id, scorer, space, name, name_source, centroid, member_count, first_seen, last_seen, examples"
SELECT_BEHAVIORS = f"SELECT {_BEHAVIOR} FROM judgeval_behaviors ORDER BY member_count DESC, id"
SELECT_BEHAVIORS_OF_SCORER = f"SELECT {_BEHAVIOR} FROM judgeval_behaviors WHERE scorer = %s AND space = %s"
SELECT_BEHAVIOR = f"SELECT {_BEHAVIOR} FROM judgeval_behaviors WHERE id = %s"
INSERT_BEHAVIOR = (f"INSERT INTO judgeval_behaviors ({_BEHAVIOR}) "
                   "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)")
UPDATE_BEHAVIOR_MEMBERS = ("UPDATE judgeval_behaviors SET centroid = %s, member_count = %s, last_seen = %s, "
                           "examples = %s WHERE id = %s")
UPDATE_BEHAVIOR_NAME = "UPDATE judgeval_behaviors SET name = %s, name_source = %s WHERE id = %s"
# (name, source, id, protected source): the condition, not a prior SELECT, keeps an operator's concurrent
# rename from being overwritten by a generated name.
UPDATE_GENERATED_BEHAVIOR_NAME = UPDATE_BEHAVIOR_NAME + " AND name_source <> %s"

# Alerts.
ENSURE_ALERT = """INSERT INTO judgeval_alert_states (name, state, fired_count) VALUES (%s, %s, 0)
    ON CONFLICT (name) DO NOTHING"""
ADD_ALERT_COUNTS = """INSERT INTO judgeval_alert_buckets (name, bucket, total, failures)
    VALUES (%s, %s, %s, %s)
    ON CONFLICT (name, bucket) DO UPDATE SET total = judgeval_alert_buckets.total + excluded.total,
        failures = judgeval_alert_buckets.failures + excluded.failures"""
SELECT_ALERT_WINDOW = """SELECT COALESCE(SUM(total), 0), COALESCE(SUM(failures), 0)
    FROM judgeval_alert_buckets WHERE name = %s AND bucket >= %s"""
PRUNE_ALERT_BUCKETS = "DELETE FROM judgeval_alert_buckets WHERE name = %s AND bucket < %s"
SELECT_ALERT_STATE = "SELECT state FROM judgeval_alert_states WHERE name = %s"
SELECT_ALERT_CLAIM = "SELECT state, firing_since, last_notified_at FROM judgeval_alert_states WHERE name = %s"
MARK_ALERT_FIRING = """UPDATE judgeval_alert_states SET state = %s, firing_since = %s, last_fired_at = %s,
    last_value = %s WHERE name = %s"""
MARK_ALERT_NOTIFIED = """UPDATE judgeval_alert_states SET last_notified_at = %s, fired_count = fired_count + 1
    WHERE name = %s"""
MARK_ALERT_RESOLVED = "UPDATE judgeval_alert_states SET state = %s, last_value = %s WHERE name = %s"
RECORD_ALERT_VALUE = "UPDATE judgeval_alert_states SET last_value = %s WHERE name = %s"
SELECT_ALERTS = """SELECT name, state, firing_since, last_fired_at, last_notified_at, last_value, fired_count
    FROM judgeval_alert_states ORDER BY name"""

# Sessions across replicas.
UPSERT_SESSION_PART = """INSERT INTO judgeval_session_parts (session_id, trace_id, replica, first_seen,
    last_seen, part) VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (session_id, trace_id) DO UPDATE SET
    replica = excluded.replica, last_seen = excluded.last_seen, part = excluded.part"""
SELECT_SESSION_PARTS = """SELECT trace_id, replica, first_seen, last_seen, part FROM judgeval_session_parts
    WHERE session_id = %s ORDER BY first_seen, trace_id"""
DELETE_SESSION = "DELETE FROM judgeval_session_parts WHERE session_id = %s"
DELETE_SESSION_LEASE = "DELETE FROM judgeval_session_leases WHERE session_id = %s"
SELECT_SESSION_LEASE = """SELECT holder, expires_at, revision, scored_through FROM judgeval_session_leases
    WHERE session_id = %s"""
INSERT_SESSION_LEASE = """INSERT INTO judgeval_session_leases (session_id, holder, expires_at, revision,
    scored_through) VALUES (%s, %s, %s, -1, 0) ON CONFLICT (session_id) DO NOTHING"""
TAKE_SESSION_LEASE = """UPDATE judgeval_session_leases SET holder = %s, expires_at = %s
    WHERE session_id = %s AND (holder = %s OR expires_at < %s)"""
SESSION_SCORED = """UPDATE judgeval_session_leases SET revision = %s, scored_through = %s, expires_at = 0
    WHERE session_id = %s AND holder = %s"""
ANNOUNCE_SESSION_PART = """INSERT INTO judgeval_session_parts (session_id, trace_id, replica, first_seen,
    last_seen, part) VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (session_id, trace_id) DO NOTHING"""

