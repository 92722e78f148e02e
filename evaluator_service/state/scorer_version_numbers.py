"""Version numbers of uploaded scorers are never handed out twice for one name, even after the version that
had the number was deleted: shadow results, replay runs, backfill claims and promotions recorded for a
deleted version must never read as results of a new upload.

Each name keeps the highest number it ever stored (``judgeval_scorer_version_marks``; a row survives the
deletion of every version). :func:`unused_version` runs inside the upload's transaction, under the lock on
the scorer's attribute key, so two replicas uploading at once still get two distinct numbers. For a database
written before marks existed, the numbers that other tables still mention count as used too.
"""

from __future__ import annotations

from evaluator_service.state.transaction import Transaction

TABLES = (
    """CREATE TABLE IF NOT EXISTS judgeval_scorer_version_marks (
        name TEXT PRIMARY KEY,
        highest BIGINT NOT NULL
    )""",
)

SELECT_HIGHEST_USED = """SELECT MAX(v) FROM (
    SELECT highest AS v FROM judgeval_scorer_version_marks WHERE name = %s
    UNION ALL SELECT version FROM judgeval_scorer_versions WHERE name = %s
    UNION ALL SELECT shadow_version FROM judgeval_shadow_results WHERE scorer = %s
    UNION ALL SELECT version FROM judgeval_scorer_promotions WHERE name = %s
    UNION ALL SELECT scorer_version FROM judgeval_replay_runs WHERE scorer = %s
) AS used"""
RAISE_MARK = """INSERT INTO judgeval_scorer_version_marks (name, highest) VALUES (%s, %s)
    ON CONFLICT (name) DO UPDATE SET highest = excluded.highest
    WHERE excluded.highest > judgeval_scorer_version_marks.highest"""


async def unused_version(tx: Transaction, name: str, chosen: int, existing: list[int]) -> int:
    """The number to store an upload of ``name`` under: ``chosen`` when it replaces one of the ``existing``
    versions (an overwrite), else the smallest number above both ``chosen - 1`` and every number ``name``
    ever used. Records it as used. Call with the scorer's key locked."""
    if chosen not in existing:
        rows = await tx.execute(SELECT_HIGHEST_USED, (name,) * 5)
        highest = rows[0][0] if rows and rows[0][0] is not None else 0
        chosen = max(chosen, int(highest) + 1)
    await tx.execute(RAISE_MARK, (name, chosen))
    return chosen
