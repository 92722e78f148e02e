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
    # A behavior's issue lifecycle beside its row (state/behavior_issue_rows.py): kind, state, severity,
    # operator disposition, what it touches. A side table, so databases of earlier versions need no ALTER.
    """CREATE TABLE IF NOT EXISTS judgeval_behavior_issues (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        state TEXT NOT NULL,
        state_since DOUBLE PRECISION NOT NULL,
        severity TEXT NOT NULL,
        description TEXT NOT NULL,
        disposition TEXT NOT NULL,
        merged_into TEXT,
        scorers TEXT NOT NULL,
        services TEXT NOT NULL,
        agents TEXT NOT NULL,
        environments TEXT NOT NULL
    )""",
    # Behaviors discovered before the lifecycle existed become ongoing, open failure groups (``WHERE true``:
    # SQLite cannot tell ``ON CONFLICT`` after a bare ``SELECT ... FROM`` from a join clause).
    """INSERT INTO judgeval_behavior_issues (id, kind, state, state_since, severity, description, disposition,
        merged_into, scorers, services, agents, environments)
        SELECT id, 'failure', 'ongoing', last_seen, 'low', '', 'open', NULL, '[]', '[]', '[]', '[]'
        FROM judgeval_behaviors WHERE true ON CONFLICT (id) DO NOTHING""",
    # Members per behavior per time bucket: the trend, the usual rate, resolution.
    """CREATE TABLE IF NOT EXISTS judgeval_behavior_buckets (
        id TEXT NOT NULL,
        bucket BIGINT NOT NULL,
        members BIGINT NOT NULL,
        PRIMARY KEY (id, bucket)
    )""",
    # The durable lifecycle event log (state/behavior_event_rows.py); ``sequence`` is assigned under a lock.
    """CREATE TABLE IF NOT EXISTS judgeval_behavior_events (
        sequence BIGINT PRIMARY KEY,
        event_id TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        behavior_id TEXT NOT NULL,
        at DOUBLE PRECISION NOT NULL,
        body TEXT NOT NULL
    )""",
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
_BEHAVIOR = ("b.id, b.scorer, b.space, b.name, b.name_source, b.centroid, b.member_count, b.first_seen, "
             "b.last_seen, b.examples, i.kind, i.state, i.state_since, i.severity, i.description, "
             "i.disposition, i.merged_into, i.scorers, i.services, i.agents, i.environments")
_FROM_BEHAVIORS = "FROM judgeval_behaviors b JOIN judgeval_behavior_issues i ON i.id = b.id"
SELECT_BEHAVIORS = f"SELECT {_BEHAVIOR} {_FROM_BEHAVIORS} ORDER BY b.member_count DESC, b.id"
SELECT_BEHAVIORS_OF_SCORER = f"SELECT {_BEHAVIOR} {_FROM_BEHAVIORS} WHERE b.scorer = %s AND b.space = %s"
SELECT_BEHAVIOR = f"SELECT {_BEHAVIOR} {_FROM_BEHAVIORS} WHERE b.id = %s"
INSERT_BEHAVIOR = """INSERT INTO judgeval_behaviors (id, scorer, space, name, name_source, centroid,
    member_count, first_seen, last_seen, examples) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"""
INSERT_BEHAVIOR_ISSUE = """INSERT INTO judgeval_behavior_issues (id, kind, state, state_since, severity,
    description, disposition, merged_into, scorers, services, agents, environments)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"""
UPDATE_BEHAVIOR_MEMBERS = ("UPDATE judgeval_behaviors SET centroid = %s, member_count = %s, last_seen = %s, "
                           "examples = %s WHERE id = %s")
UPDATE_BEHAVIOR_NAME = "UPDATE judgeval_behaviors SET name = %s, name_source = %s WHERE id = %s"
# (name, source, id, protected source): the condition, not a prior SELECT, keeps an operator's concurrent
# rename from being overwritten by a generated name.
UPDATE_GENERATED_BEHAVIOR_NAME = UPDATE_BEHAVIOR_NAME + " AND name_source <> %s"
UPDATE_BEHAVIOR_ISSUE = """UPDATE judgeval_behavior_issues SET state = %s, state_since = %s, severity = %s,
    disposition = %s, merged_into = %s, scorers = %s, services = %s, agents = %s, environments = %s
    WHERE id = %s"""
ADD_BEHAVIOR_MEMBERS = """INSERT INTO judgeval_behavior_buckets (id, bucket, members) VALUES (%s, %s, %s)
    ON CONFLICT (id, bucket) DO UPDATE SET members = judgeval_behavior_buckets.members + excluded.members"""
SELECT_BEHAVIOR_BUCKETS = """SELECT bucket, members FROM judgeval_behavior_buckets
    WHERE id = %s AND bucket >= %s ORDER BY bucket"""
SELECT_ALL_BEHAVIOR_BUCKETS = """SELECT id, bucket, members FROM judgeval_behavior_buckets
    WHERE bucket >= %s ORDER BY id, bucket"""
PRUNE_BEHAVIOR_BUCKETS = "DELETE FROM judgeval_behavior_buckets WHERE bucket < %s"
SELECT_EVERY_BEHAVIOR_BUCKET = "SELECT bucket, members FROM judgeval_behavior_buckets WHERE id = %s"
SELECT_BEHAVIORS_MERGED_INTO = f"SELECT {_BEHAVIOR} {_FROM_BEHAVIORS} WHERE i.merged_into = %s"
SELECT_LIVE_BEHAVIOR_IDS = "SELECT id FROM judgeval_behavior_issues WHERE disposition <> %s ORDER BY id"
# Event sequence numbers: MAX + 1 read under the event-log lock, so writers never share or skip one.
INSERT_BEHAVIOR_EVENT = """INSERT INTO judgeval_behavior_events (sequence, event_id, kind, behavior_id, at,
    body) SELECT COALESCE(MAX(sequence), 0) + 1, %s, %s, %s, %s, %s FROM judgeval_behavior_events"""
SELECT_BEHAVIOR_EVENTS_AFTER = """SELECT sequence, event_id, kind, behavior_id, at, body
    FROM judgeval_behavior_events WHERE sequence > %s ORDER BY sequence LIMIT %s"""

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
