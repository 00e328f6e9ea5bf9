"""What a browser session holds about its sign-in, and when it is no longer valid.

A session records when it signed in and the user's session version at that moment.
Logging out, changing or resetting a password and deactivation bump the version, so
every other session of that user ends on its next request. API tokens do not use
sessions: only deactivation ends them.
"""

from __future__ import annotations

import time

from flask import session

SIGNED_IN_AT = "signed_in_at"
SESSION_VERSION = "session_version"


def start(user) -> None:
    """Mark the current session as signed in as `user` now."""
    session.permanent = True  # expires after PERMANENT_SESSION_LIFETIME
    session[SIGNED_IN_AT] = time.time()  # and after SESSION_MAX_HOURS
    session[SESSION_VERSION] = user.session_version


def keep(user) -> None:
    """Keep this session valid after the user's version was bumped here (a password
    change ends the user's other sessions, not this one)."""
    session[SESSION_VERSION] = user.session_version


def valid_for(user, max_hours: float) -> bool:
    """Whether the current session is still a sign-in of `user`."""
    signed_in_at = session.get(SIGNED_IN_AT)
    if not isinstance(signed_in_at, int | float):
        return False  # signed in before this was recorded
    if time.time() - signed_in_at > max_hours * 3600:
        return False  # signed in too long ago, however busy
    return session.get(SESSION_VERSION) == user.session_version
