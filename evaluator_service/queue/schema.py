"""The queue file's SQL: its one table, the upgrade of a file from before packing, and the row insert
(what the columns hold: see :mod:`evaluator_service.queue`)."""

# Small columns first: SQLite reads a column stored after a large blob only by walking the blob's overflow
# pages, and packed rows are large.
CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS spans (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    state INTEGER NOT NULL,
    spans INTEGER NOT NULL DEFAULT 1,
    packed INTEGER NOT NULL DEFAULT 0,
    size INTEGER NOT NULL,
    resource BLOB NOT NULL,
    scope BLOB NOT NULL,
    span BLOB NOT NULL
)"""
CREATE_INDEX = "CREATE INDEX IF NOT EXISTS spans_by_state ON spans (state, id)"

# A queue file from before packing has no spans/packed columns (every row is one unpacked span, which is what
# the defaults say). Its rows are copied, ids included, into a table of the current layout: adding the
# columns at the end instead would leave them behind the large blobs.
UPGRADE = (
    "ALTER TABLE spans RENAME TO spans_before_packing",
    CREATE_TABLE,
    "INSERT INTO spans (id, state, size, resource, scope, span) "
    "SELECT id, state, size, resource, scope, span FROM spans_before_packing ORDER BY id",
    "DROP TABLE spans_before_packing",
    CREATE_INDEX,
)

INSERT = "INSERT INTO spans (state, resource, scope, span, size, spans, packed) VALUES (?, ?, ?, ?, ?, ?, ?)"
