"""Session cookies and CSRF tokens: signed with a key derived from the admin token, expiring,
and bound to what they were made for."""

from __future__ import annotations

from adapter.dashboard.session import (
    LIFETIME_S,
    csrf_holds,
    csrf_token,
    issue,
    signing_key,
    verify,
)

KEY = signing_key("admin-token-0123456789")
NOW = 1_800_000_000.0


def test_a_session_holds_until_it_expires() -> None:
    session, cookie = issue(KEY, NOW)
    assert verify(KEY, cookie, NOW + LIFETIME_S - 1) == session
    assert verify(KEY, cookie, NOW + LIFETIME_S) is None


def test_another_token_or_a_changed_value_is_no_session() -> None:
    _, cookie = issue(KEY, NOW)
    assert verify(signing_key("admin-token-0123456789x"), cookie, NOW) is None
    session_id, expires, mac = cookie.split(".")
    assert verify(KEY, f"{session_id}.{int(expires) + 3600}.{mac}", NOW) is None
    assert verify(KEY, f"x{session_id}.{expires}.{mac}", NOW) is None
    assert verify(KEY, "", NOW) is None and verify(KEY, None, NOW) is None


def test_the_signing_key_is_the_same_in_every_process_and_not_the_token() -> None:
    assert signing_key("admin-token-0123456789") == KEY
    assert b"admin-token" not in KEY


def test_a_csrf_token_is_bound_to_its_session() -> None:
    one, _ = issue(KEY, NOW)
    two, _ = issue(KEY, NOW)
    token = csrf_token(KEY, f"session:{one.id}")
    assert csrf_holds(KEY, f"session:{one.id}", token)
    assert not csrf_holds(KEY, f"session:{two.id}", token)
    assert not csrf_holds(KEY, f"session:{one.id}", None)
    assert not csrf_holds(KEY, f"login:{one.id}", token)
