"""State changes: each public function is one transaction and writes its audit events."""


class ServiceError(ValueError):
    """A change that cannot be made, with a message for the person who asked."""
