"""State-database URLs: which backend a URL selects, and how to print one without its password."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

SQLITE_PREFIX = "sqlite:///"
POSTGRES_SCHEMES = ("postgresql", "postgres")
DB_FILE_NAME = "state.sqlite3"


def default_state_url(data_dir: Path) -> str:
    """``sqlite:///<data_dir>/state.sqlite3``: single node, no extra service."""
    return f"{SQLITE_PREFIX}{Path(data_dir) / DB_FILE_NAME}"


def sqlite_path(url: str) -> Path | None:
    """The file of a ``sqlite:///PATH`` URL (``sqlite:////abs`` or ``sqlite:///rel``), else ``None``."""
    return Path(url[len(SQLITE_PREFIX):]) if url.startswith(SQLITE_PREFIX) else None


def is_postgres(url: str) -> bool:
    return urlsplit(url).scheme in POSTGRES_SCHEMES


def check_url(url: str) -> str | None:
    """Why ``url`` cannot select a backend, or ``None`` when it can."""
    if sqlite_path(url) is not None:
        return None if str(sqlite_path(url)) else "sqlite:/// needs a file path"
    if is_postgres(url):
        try:
            parts = urlsplit(url)
            _ = parts.port  # raises ValueError for a non-numeric port
        except ValueError as exc:
            return str(exc)
        return None if parts.hostname or "host=" in parts.query else "postgresql URL needs a host"
    return "expected sqlite:///PATH or postgresql://USER:PASSWORD@HOST:PORT/DATABASE"


def masked(url: str) -> str:
    """``url`` with its password replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=f"{user}:***@{host}").geturl()


def scrub(text: str, url: str) -> str:
    """``text`` with ``url`` masked and the bare password removed wherever it stands as a word of its own (a
    driver echoing ``password=...``): not inside other words, so a short password cannot garble the message
    ("acce***ting" for the password ``p``)."""
    text = text.replace(url, masked(url))
    try:
        password = urlsplit(url).password
    except ValueError:
        password = None
    for secret in {password, unquote(password) if password else None}:
        if secret:
            text = re.sub(rf"(?<![\w]){re.escape(secret)}(?![\w])", "***", text)
    return text
