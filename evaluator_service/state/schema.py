"""Every table of the shared state, and the statements of its core concerns, in the common subset of SQLite
and PostgreSQL. The datasets' statements are in :mod:`~evaluator_service.state.dataset_schema`, the
improvement loop's in :mod:`~evaluator_service.state.loop_schema` and the console's in
:mod:`~evaluator_service.state.console_schema`; :data:`SCHEMA` creates their tables too.

Placeholders are ``%s`` (psycopg); the SQLite backend rewrites them to ``?``. Every table is prefixed
``judgeval_`` so the schema can live in a database shared with other applications. Values the code owns
(alert states, name sources) are passed as parameters, never written into the SQL. The modules of the
four concerns (:mod:`~evaluator_service.state.pauses`, :mod:`~evaluator_service.state.scorer_versions`,
:mod:`~evaluator_service.state.alert_rows`, :mod:`~evaluator_service.state.behavior_rows`) run these
statements; only the backends' own locking and connection set-up stay in ``sqlite.py`` and ``postgres.py``.
"""

from __future__ import annotations

from evaluator_service.state.behavior_placements import TABLES as PLACEMENT_TABLES
from evaluator_service.state.console_schema import TABLES as CONSOLE_TABLES
from evaluator_service.state.dataset_schema import TABLES as DATASET_TABLES
from evaluator_service.state.loop_schema import TABLES as LOOP_TABLES
from evaluator_service.state.scorer_version_numbers import TABLES as VERSION_NUMBER_TABLES

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
    # The kind of each uploaded version ("example" or "trace"): its own table, so databases created before
    # trace scorers need no migration (a version without a row is an example scorer).
    """CREATE TABLE IF NOT EXISTS judgeval_scorer_kinds (
        name TEXT NOT NULL,
        version INTEGER NOT NULL,
        kind TEXT NOT NULL,
        PRIMARY KEY (name, version)
    )""",
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
    # A bounded random sample (reservoir) of each behavior's members with their vectors, what the
    # re-clustering pass splits mixed behaviors from (state/behavior_samples.py). Side tables: databases of
    # earlier versions need no ALTER (their behaviors simply start sampling with their next members).
    """CREATE TABLE IF NOT EXISTS judgeval_behavior_samples (
        id TEXT NOT NULL,
        slot INTEGER NOT NULL,
        trace_id TEXT NOT NULL,
        span_id TEXT NOT NULL,
        at DOUBLE PRECISION NOT NULL,
        reason TEXT NOT NULL,
        text TEXT NOT NULL,
        vector TEXT NOT NULL,
        PRIMARY KEY (id, slot)
    )""",
    # Behaviors an operator merged others into or split: the automatic split leaves them as they are.
    """CREATE TABLE IF NOT EXISTS judgeval_behavior_pins (
        id TEXT PRIMARY KEY,
        action TEXT NOT NULL,
        at DOUBLE PRECISION NOT NULL
    )""",
    # Alerts (state/alert_rows.py, alert_outbox.py, alert_silences.py). The tables of the first alert model
    # (judgeval_alert_states, judgeval_alert_buckets) are no longer read; an upgraded database keeps them.
    """CREATE TABLE IF NOT EXISTS judgeval_alert_status (
        name TEXT PRIMARY KEY,
        state TEXT NOT NULL,
        severity TEXT,
        state_since DOUBLE PRECISION NOT NULL,
        pending_since DOUBLE PRECISION,
        last_notified_at DOUBLE PRECISION,
        last_value DOUBLE PRECISION,
        episode TEXT,
        fired_count BIGINT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS judgeval_alert_counts (
        name TEXT NOT NULL,
        bucket BIGINT NOT NULL,
        scores BIGINT NOT NULL,
        failures BIGINT NOT NULL,
        errors BIGINT NOT NULL,
        min_value DOUBLE PRECISION,
        max_value DOUBLE PRECISION,
        PRIMARY KEY (name, bucket)
    )""",
    """CREATE TABLE IF NOT EXISTS judgeval_alert_history (
        id TEXT PRIMARY KEY,
        alert TEXT NOT NULL,
        at DOUBLE PRECISION NOT NULL,
        from_state TEXT NOT NULL,
        to_state TEXT NOT NULL,
        severity TEXT,
        observed DOUBLE PRECISION,
        event_id TEXT,
        silenced_by TEXT,
        detail TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS judgeval_alert_history_by_alert ON judgeval_alert_history (alert, at)",
    """CREATE TABLE IF NOT EXISTS judgeval_alert_outbox (
        event_id TEXT NOT NULL,
        channel TEXT NOT NULL,
        alert TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,
        payload TEXT NOT NULL,
        status TEXT NOT NULL,
        attempts BIGINT NOT NULL,
        next_attempt_at DOUBLE PRECISION NOT NULL,
        lease_owner TEXT,
        lease_until DOUBLE PRECISION,
        last_detail TEXT NOT NULL,
        PRIMARY KEY (event_id, channel)
    )""",
    "CREATE INDEX IF NOT EXISTS judgeval_alert_outbox_due ON judgeval_alert_outbox (status, next_attempt_at)",
    """CREATE TABLE IF NOT EXISTS judgeval_alert_deliveries (
        id TEXT PRIMARY KEY,
        event_id TEXT NOT NULL,
        channel TEXT NOT NULL,
        alert TEXT NOT NULL,
        at DOUBLE PRECISION NOT NULL,
        ok INTEGER NOT NULL,
        detail TEXT NOT NULL,
        status_code INTEGER,
        replica TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS judgeval_alert_deliveries_by_event ON judgeval_alert_deliveries (event_id)",
    """CREATE TABLE IF NOT EXISTS judgeval_alert_silences (
        id TEXT PRIMARY KEY,
        matchers TEXT NOT NULL,
        starts_at DOUBLE PRECISION NOT NULL,
        ends_at DOUBLE PRECISION NOT NULL,
        comment TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS judgeval_alert_cursors (
        name TEXT PRIMARY KEY,
        position BIGINT NOT NULL
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
    *PLACEMENT_TABLES,
    *DATASET_TABLES,
    *LOOP_TABLES,
    *VERSION_NUMBER_TABLES,
    *CONSOLE_TABLES,
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

# Scorer versions (with their kind from judgeval_scorer_kinds, "example" when it has no row).
_METADATA = "name, version, sha256, created_at, class_name, source_filename, requirements_hash"
_VERSION_ROWS = (
    "SELECT v.name, v.version, v.sha256, v.created_at, v.class_name, v.source_filename, v.requirements_hash, "
    "COALESCE(k.kind, 'example') FROM judgeval_scorer_versions v LEFT JOIN judgeval_scorer_kinds k "
    "ON k.name = v.name AND k.version = v.version")
SELECT_VERSIONS = f"{_VERSION_ROWS} ORDER BY v.name, v.version"
SELECT_VERSIONS_BY_KEY = f"{_VERSION_ROWS} WHERE v.name_key = %s"
SELECT_VERSIONS_OF = f"{_VERSION_ROWS} WHERE v.name = %s ORDER BY v.version"
SELECT_FILES = f"{_VERSION_ROWS.replace(' FROM ', ', v.source, v.requirements FROM ', 1)} " \
    "WHERE v.name = %s AND v.version = %s"
DELETE_VERSION = "DELETE FROM judgeval_scorer_versions WHERE name = %s AND version = %s"
DELETE_ALL_VERSIONS = "DELETE FROM judgeval_scorer_versions WHERE name = %s"
DELETE_KIND = "DELETE FROM judgeval_scorer_kinds WHERE name = %s AND version = %s"
DELETE_ALL_KINDS = "DELETE FROM judgeval_scorer_kinds WHERE name = %s"
# Overwrite keeps the version number but replaces everything else, so an upsert covers both cases.
UPSERT_VERSION = f"""INSERT INTO judgeval_scorer_versions ({_METADATA}, name_key, source, requirements)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
    ON CONFLICT (name, version) DO UPDATE SET sha256 = excluded.sha256, created_at = excluded.created_at,
        class_name = excluded.class_name, source_filename = excluded.source_filename,
        requirements_hash = excluded.requirements_hash, source = excluded.source,
        requirements = excluded.requirements"""
UPSERT_KIND = """INSERT INTO judgeval_scorer_kinds (name, version, kind) VALUES (%s, %s, %s)
    ON CONFLICT (name, version) DO UPDATE SET kind = excluded.kind"""

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

# Member samples and operator pins (state/behavior_samples.py).
_SAMPLE = "slot, trace_id, span_id, at, reason, text, vector"
UPSERT_BEHAVIOR_SAMPLE = f"""INSERT INTO judgeval_behavior_samples (id, {_SAMPLE})
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
    ON CONFLICT (id, slot) DO UPDATE SET trace_id = excluded.trace_id, span_id = excluded.span_id,
        at = excluded.at, reason = excluded.reason, text = excluded.text, vector = excluded.vector"""
SELECT_BEHAVIOR_SAMPLES = f"SELECT {_SAMPLE} FROM judgeval_behavior_samples WHERE id = %s ORDER BY slot"
DELETE_BEHAVIOR_SAMPLES = "DELETE FROM judgeval_behavior_samples WHERE id = %s"
PIN_BEHAVIOR = """INSERT INTO judgeval_behavior_pins (id, action, at) VALUES (%s, %s, %s)
    ON CONFLICT (id) DO UPDATE SET action = excluded.action, at = excluded.at"""
SELECT_BEHAVIOR_PIN = "SELECT action FROM judgeval_behavior_pins WHERE id = %s"
SELECT_BEHAVIOR_PINS = "SELECT id FROM judgeval_behavior_pins"

# Alerts.
_STATUS = ("name, state, severity, state_since, pending_since, last_notified_at, last_value, episode, "
           "fired_count, created_at")
ENSURE_ALERT_STATUS = """INSERT INTO judgeval_alert_status (name, state, state_since, fired_count, created_at)
    VALUES (%s, %s, %s, 0, %s) ON CONFLICT (name) DO NOTHING"""
SELECT_ALERT_STATUS = f"SELECT {_STATUS} FROM judgeval_alert_status WHERE name = %s"
SELECT_ALERT_STATUSES = f"SELECT {_STATUS} FROM judgeval_alert_status ORDER BY name"
UPDATE_ALERT_STATUS = """UPDATE judgeval_alert_status SET state = %s, severity = %s, state_since = %s,
    pending_since = %s, last_notified_at = %s, last_value = %s, episode = %s, fired_count = %s
    WHERE name = %s"""
ADD_ALERT_COUNTS = """INSERT INTO judgeval_alert_counts (name, bucket, scores, failures, errors, min_value,
        max_value) VALUES (%s, %s, %s, %s, %s, %s, %s)
    ON CONFLICT (name, bucket) DO UPDATE SET scores = judgeval_alert_counts.scores + excluded.scores,
        failures = judgeval_alert_counts.failures + excluded.failures,
        errors = judgeval_alert_counts.errors + excluded.errors,
        min_value = CASE WHEN judgeval_alert_counts.min_value IS NULL
            OR excluded.min_value < judgeval_alert_counts.min_value
            THEN excluded.min_value ELSE judgeval_alert_counts.min_value END,
        max_value = CASE WHEN judgeval_alert_counts.max_value IS NULL
            OR excluded.max_value > judgeval_alert_counts.max_value
            THEN excluded.max_value ELSE judgeval_alert_counts.max_value END"""
SELECT_ALERT_COUNTS = """SELECT COALESCE(SUM(scores), 0), COALESCE(SUM(failures), 0),
    COALESCE(SUM(errors), 0),
    MIN(min_value), MAX(max_value) FROM judgeval_alert_counts WHERE name = %s AND bucket >= %s"""
PRUNE_ALERT_COUNTS = "DELETE FROM judgeval_alert_counts WHERE name = %s AND bucket < %s"
_HISTORY = "id, alert, at, from_state, to_state, severity, observed, event_id, silenced_by, detail"
INSERT_ALERT_HISTORY = (f"INSERT INTO judgeval_alert_history ({_HISTORY}) "
                        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)")
SELECT_ALERT_HISTORY = f"SELECT {_HISTORY} FROM judgeval_alert_history ORDER BY at DESC, id DESC LIMIT %s"
SELECT_ALERT_HISTORY_OF = (f"SELECT {_HISTORY} FROM judgeval_alert_history WHERE alert = %s "
                           "ORDER BY at DESC, id DESC LIMIT %s")
_OUTBOX = ("event_id, channel, alert, created_at, payload, status, attempts, next_attempt_at, lease_owner, "
           "lease_until, last_detail")
INSERT_ALERT_OUTBOX = f"""INSERT INTO judgeval_alert_outbox ({_OUTBOX})
    VALUES (%s, %s, %s, %s, %s, %s, 0, %s, NULL, NULL, '') ON CONFLICT (event_id, channel) DO NOTHING"""
# (status pending, now, now, status pending, limit). Only the oldest pending row of each (alert, channel) is
# due, so a channel hears an alert's notifications in order (never a resolve before its trigger).
SELECT_DUE_OUTBOX = f"""SELECT {_OUTBOX} FROM judgeval_alert_outbox AS o
    WHERE status = %s AND next_attempt_at <= %s AND (lease_until IS NULL OR lease_until < %s)
    AND NOT EXISTS (SELECT 1 FROM judgeval_alert_outbox AS older WHERE older.alert = o.alert
        AND older.channel = o.channel AND older.status = %s AND (older.created_at < o.created_at
        OR (older.created_at = o.created_at AND older.event_id < o.event_id)))
    ORDER BY next_attempt_at, created_at LIMIT %s"""
LEASE_OUTBOX = """UPDATE judgeval_alert_outbox SET lease_owner = %s, lease_until = %s
    WHERE event_id = %s AND channel = %s"""
FINISH_OUTBOX = """UPDATE judgeval_alert_outbox SET status = %s, attempts = attempts + %s,
    next_attempt_at = %s,
    lease_owner = NULL, lease_until = NULL, last_detail = %s
    WHERE event_id = %s AND channel = %s AND lease_owner = %s"""
SELECT_OUTBOX_OF_EVENT = f"SELECT {_OUTBOX} FROM judgeval_alert_outbox WHERE event_id = %s ORDER BY channel"
COUNT_OUTBOX_BY_STATUS = "SELECT status, COUNT(*) FROM judgeval_alert_outbox GROUP BY status"
_DELIVERY = "id, event_id, channel, alert, at, ok, detail, status_code, replica"
INSERT_ALERT_DELIVERY = (f"INSERT INTO judgeval_alert_deliveries ({_DELIVERY}) "
                         "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)")
SELECT_DELIVERIES_OF_EVENT = (f"SELECT {_DELIVERY} FROM judgeval_alert_deliveries WHERE event_id = %s "
                              "ORDER BY at, id")
_SILENCE = "id, matchers, starts_at, ends_at, comment, created_by, created_at"
INSERT_ALERT_SILENCE = f"INSERT INTO judgeval_alert_silences ({_SILENCE}) VALUES (%s, %s, %s, %s, %s, %s, %s)"
SELECT_ALERT_SILENCES = (f"SELECT {_SILENCE} FROM judgeval_alert_silences WHERE ends_at > %s "
                         "ORDER BY starts_at, id")
EXPIRE_ALERT_SILENCE = "UPDATE judgeval_alert_silences SET ends_at = %s WHERE id = %s AND ends_at > %s"
PRUNE_ALERT_HISTORY = "DELETE FROM judgeval_alert_history WHERE at < %s"
PRUNE_ALERT_DELIVERIES = "DELETE FROM judgeval_alert_deliveries WHERE at < %s"
PRUNE_ALERT_OUTBOX = "DELETE FROM judgeval_alert_outbox WHERE status <> %s AND created_at < %s"
ENSURE_ALERT_CURSOR = ("INSERT INTO judgeval_alert_cursors (name, position) VALUES (%s, 0) "
                       "ON CONFLICT (name) DO NOTHING")
SELECT_ALERT_CURSOR = "SELECT position FROM judgeval_alert_cursors WHERE name = %s"
UPDATE_ALERT_CURSOR = "UPDATE judgeval_alert_cursors SET position = %s WHERE name = %s"

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
