"""The console's keys, session cookies and throttle, with injected clocks (no waiting)."""

from __future__ import annotations

from evaluator_service.console.auth import (
    ADMIN,
    FAILURE_LIMIT,
    FAILURE_WINDOW_S,
    READ,
    ConsoleAuth,
    csrf_matches,
)


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_each_key_logs_in_as_its_role_and_nothing_else_does() -> None:
    auth = ConsoleAuth("admin-key-1", "read-key-1", 3600)
    assert (auth.role_of("admin-key-1"), auth.role_of("read-key-1")) == (ADMIN, READ)
    assert auth.role_of("admin-key-") is None and auth.role_of("") is None
    only_admin = ConsoleAuth("admin-key-1", None, 3600)
    assert only_admin.role_of("read-key-1") is None


def test_a_session_expires_after_its_ttl() -> None:
    wall = Clock()
    auth = ConsoleAuth("admin-key-1", None, 3600, wall_clock=wall)
    cookie = auth.new_cookie(ADMIN)
    session = auth.session(cookie)
    assert session is not None and session.can_write and csrf_matches(session, session.csrf)
    assert not csrf_matches(session, "other") and not csrf_matches(session, None)
    wall.now += 3600
    assert auth.session(cookie) is not None
    wall.now += 2
    assert auth.session(cookie) is None


def test_cookies_are_bound_to_the_keys_that_issued_them() -> None:
    first = ConsoleAuth("admin-key-1", "read-key-1", 3600)
    read_cookie = first.new_cookie(READ)
    assert ConsoleAuth("admin-key-1", "read-key-1", 3600).session(read_cookie) is not None  # another replica
    assert ConsoleAuth("admin-key-2", "read-key-1", 3600).session(read_cookie) is None  # a key changed
    assert ConsoleAuth("admin-key-1", None, 3600).session(read_cookie) is None
    tampered = read_cookie.replace(read_cookie[5], "A" if read_cookie[5] != "A" else "B", 1)
    assert first.session(tampered) is None and first.session("") is None and first.session(None) is None


def test_wrong_keys_lock_a_client_out_for_the_window_only() -> None:
    clock = Clock(0.0)
    auth = ConsoleAuth("admin-key-1", None, 3600, clock=clock)
    for _ in range(FAILURE_LIMIT - 1):
        auth.failed("10.0.0.1")
    assert auth.retry_in("10.0.0.1") == 0
    auth.failed("10.0.0.1")
    assert auth.retry_in("10.0.0.1") == FAILURE_WINDOW_S and auth.retry_in("10.0.0.2") == 0
    clock.now = FAILURE_WINDOW_S + 0.5
    assert auth.retry_in("10.0.0.1") == 0
