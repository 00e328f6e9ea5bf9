"""The four roles (kept apart from the models so the command line starts quickly)."""

from __future__ import annotations

import enum


class Role(str, enum.Enum):
    ADMIN = "admin"
    COACH = "coach"
    DIRECTOR = "director"
    DEAN = "dean"

    @property
    def label(self) -> str:
        return self.value.capitalize()
