"""Fuzz the JSON API from its own OpenAPI description: no input makes it answer 5xx.

schemathesis generates requests for every operation in /api/v1/openapi.json
(a bounded number per operation) and sends them, with an admin's bearer token,
straight to the WSGI app.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from clinic.services import tokens

schemathesis = pytest.importorskip("schemathesis")

EXAMPLES_PER_OPERATION = 20
# Rendering a PDF takes a second or more; its few query parameters need fewer examples.
FEWER_EXAMPLES = {"GET /summary.pdf": 3, "GET /clinics/{clinic_id}/action-plan.pdf": 10}


def _fuzzer(app, operation, headers: dict, failures: dict):
    """A hypothesis test sending generated requests for one operation."""
    name = f"{operation.method.upper()} {operation.path}"

    @settings(
        max_examples=FEWER_EXAMPLES.get(name, EXAMPLES_PER_OPERATION),
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def fuzz(case):
        with app.app_context():  # its own session and g, as each request has
            response = case.call(headers=headers)
        if response.status_code >= 500:
            # Overwritten while hypothesis shrinks: the last one is the smallest example.
            failures[name] = (
                f"{response.status_code} for {case.as_curl_command()}\n"
                f"{response.text[:500]}"
            )
        assert response.status_code < 500

    return fuzz


@pytest.mark.slow
def test_no_generated_request_gets_a_server_error(app, world):
    # An unexpected error answers 500 (logged), as in production, instead of raising here.
    app.config["PROPAGATE_EXCEPTIONS"] = False
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    token = tokens.create_token(None, world.admin, "fuzz")[1]
    headers = {"Authorization": f"Bearer {token}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    failures: dict[str, str] = {}
    for operation in operations:
        try:
            _fuzzer(app, operation, headers, failures)()
        except AssertionError:
            pass  # recorded in `failures`; fuzz the other operations
    assert not failures, "\n\n".join(f"{k}: {v}" for k, v in failures.items())
