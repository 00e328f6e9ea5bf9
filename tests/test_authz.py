"""The authorization matrix: every URL rule, every role, own and foreign objects."""

from __future__ import annotations

import pytest
from flask import Flask

from clinic.models import Role
from clinic.policy import check_all_routes_guarded, guard
from clinic.services import tokens
from tests import builders

OK = "ok"
ROLES = ["anonymous", "admin", "coach", "director", "dean"]
EVERYONE = {"admin": OK, "coach": OK, "director": OK, "dean": OK}
ADMIN_ONLY = {"admin": OK, "coach": 403, "director": 403, "dean": 403}
# (own object, foreign object): "own" is the course/clinic the coach and director belong to.
SCOPED = (EVERYONE, {"admin": OK, "coach": 403, "director": 403, "dean": OK})

EXPECTED: dict[str, tuple[dict, dict]] = {
    "auth.login": (EVERYONE, EVERYONE),
    "auth.logout": (EVERYONE, EVERYONE),
    "auth.change_password": (EVERYONE, EVERYONE),
    "main.home": (EVERYONE, EVERYONE),
    "main.courses": (EVERYONE, EVERYONE),
    "main.clinics": (EVERYONE, EVERYONE),
    "main.course": SCOPED,
    "main.clinic": SCOPED,
    "admin.users": (ADMIN_ONLY, ADMIN_ONLY),
    "admin.new_user": (ADMIN_ONLY, ADMIN_ONLY),
    "admin.edit_user": (ADMIN_ONLY, ADMIN_ONLY),
    "admin.set_user_active": (ADMIN_ONLY, ADMIN_ONLY),
    "admin.reset_password": (ADMIN_ONLY, ADMIN_ONLY),
    "admin.courses": (ADMIN_ONLY, ADMIN_ONLY),
    "admin.new_course": (ADMIN_ONLY, ADMIN_ONLY),
    "admin.edit_course": (ADMIN_ONLY, ADMIN_ONLY),
    "admin.new_clinic": (ADMIN_ONLY, ADMIN_ONLY),
    "admin.clinic_coaches": (ADMIN_ONLY, ADMIN_ONLY),
    "admin.audit_log": (ADMIN_ONLY, ADMIN_ONLY),
}
NOBODY = {"admin": 403, "coach": 403, "director": 403, "dean": 403}
DIRECTORS = {"admin": 403, "coach": 403, "director": OK, "dean": 403}
UPLOADERS = (
    {"admin": OK, "coach": OK, "director": OK, "dean": 403},
    {"admin": OK, "coach": 403, "director": 403, "dean": 403},
)
REVIEWERS = (
    {"admin": OK, "coach": OK, "director": 403, "dean": 403},
    {"admin": OK, "coach": 403, "director": 403, "dean": 403},
)
EXPECTED.update(
    {
        "documents.upload": UPLOADERS,
        "documents.upload_revision": UPLOADERS,
        "documents.document": SCOPED,
        "documents.version_status": SCOPED,
        "documents.version_file": SCOPED,
        "documents.page_image": SCOPED,
        "documents.review": SCOPED,
        "documents.decide": REVIEWERS,
        "documents.add_finding": REVIEWERS,
        "documents.bulk_decide": REVIEWERS,
        "documents.assign": REVIEWERS,
        # The lead coach (the world's clinic has one coach, so its lead) and admins.
        "documents.settle": REVIEWERS,
        "documents.glossary": (EVERYONE, EVERYONE),
        "workflow.transition": UPLOADERS,
        # Directors join the discussion only once feedback is shared (the world's clinic is a draft).
        "workflow.comment": REVIEWERS,
        "workflow.mark_revised": (NOBODY, NOBODY),
        # Coaches' internal notes: never directors or deans, at any state.
        "workflow.add_clinic_note": REVIEWERS,
        "workflow.add_finding_note": REVIEWERS,
        "workflow.new_action_item": REVIEWERS,
        "workflow.action_item_status": UPLOADERS,  # the owning director may update their item
        "workflow.add_session": REVIEWERS,
        "workflow.pedagogy": SCOPED,
        "workflow.score_pedagogy": REVIEWERS,
        "workflow.self_check": (DIRECTORS, DIRECTORS),
        "auth.api_tokens": (EVERYONE, EVERYONE),
        "auth.create_api_token": (EVERYONE, EVERYONE),
        # The token belongs to the coach; admins may revoke anyone's.
        "auth.revoke_api_token": (
            {"admin": OK, "coach": OK, "director": 403, "dean": 403},
            {"admin": OK, "coach": OK, "director": 403, "dean": 403},
        ),
        # Only a private draft's owner may share it; the world has none.
        "workflow.share": (NOBODY, NOBODY),
        # Directors get the plan once feedback is shared (the world's clinic is a draft).
        "workflow.action_plan": (
            {"admin": OK, "coach": OK, "director": 403, "dean": OK},
            {"admin": OK, "coach": 403, "director": 403, "dean": OK},
        ),
        # The school summary: deans and admins only (SCOPED[1]); clinic CSVs follow clinic.view.
        "summaries.summary": (SCOPED[1], SCOPED[1]),
        "summaries.summary_pdf": (SCOPED[1], SCOPED[1]),
        "summaries.summary_csv": (SCOPED[1], SCOPED[1]),
        "summaries.findings_csv": SCOPED,
        "workflow.patterns_csv": SCOPED,
        "summaries.action_items_csv": SCOPED,
        "health.health": (EVERYONE, EVERYONE),
        # How coaches' decisions judge the rubric: admins and coaches.
        "rubric_health.health": (REVIEWERS[0], REVIEWERS[0]),
        "rubric_health.proposal": (
            {"admin": 404, "coach": 404, "director": 403, "dean": 403},
            {"admin": 404, "coach": 404, "director": 403, "dean": 403},
        ),
        # Each user's own list and settings.
        "notifications.index": (EVERYONE, EVERYONE),
        "notifications.mark_all_read": (EVERYONE, EVERYONE),
        "notifications.settings": (EVERYONE, EVERYONE),
        # The notification belongs to the coach (own) or the director (foreign): its
        # recipient alone may mark it read, admins included.
        "notifications.open_notification": (
            {"admin": 403, "coach": OK, "director": 403, "dean": 403},
            {"admin": 403, "coach": 403, "director": OK, "dean": 403},
        ),
        "notifications.mark_read": (
            {"admin": 403, "coach": OK, "director": 403, "dean": 403},
            {"admin": 403, "coach": 403, "director": OK, "dean": 403},
        ),
    }
)
PUBLIC = {"auth.login", "health.health"}


def hidden(role: str, rule, own: bool) -> bool:
    """Whether the route's object is one the role may not see, by the world's facts:
    a refusal is then 404, as if it did not exist (no probing ids); 403 is for
    actions on what the role sees."""
    args = set(rule.arguments)
    if "user_id" in args:  # accounts: admins only
        return role != "admin"
    if "notification_id" in args:  # the coach's (own) or the director's (foreign)
        return role != ("coach" if own else "director")
    if "token_id" in args:  # the coach's token; admins see every token
        return role not in ("coach", "admin")
    object_args = args - {"page", "criterion_id", "reason"}
    return bool(object_args) and not own and role in ("coach", "director")


def expectation(expected, role: str, rule, own: bool):
    return 404 if expected == 403 and hidden(role, rule, own) else expected


def _rules(app):
    # The JSON API (bearer tokens) has its own matrix in test_api_authz.py.
    return [
        r
        for r in app.url_map.iter_rules()
        if r.endpoint != "static"
        and not r.endpoint.endswith(".static")
        and not r.endpoint.startswith("api.")
    ]


def _url(rule, objects: dict) -> str:
    values = {arg: objects[arg] for arg in rule.arguments}
    return rule.build(values, append_unknown=False)[1]


def _objects(world, own: bool) -> dict:
    course = world.course if own else world.other_course
    clinic = world.clinic if own else world.other_clinic
    version = world.version if own else world.other_version
    return {
        "course_id": course.id,
        "clinic_id": clinic.id,
        "user_id": world.target.id,
        "document_id": version.document_id,
        "version_id": version.id,
        "finding_id": (world.finding if own else world.other_finding).id,
        "action_item_id": (world.action_item if own else world.other_action_item).id,
        "token_id": world.token.id if hasattr(world, "token") else 9999,
        "notification_id": (
            world.coach_notification if own else world.director_notification
        ).id
        if hasattr(world, "coach_notification")
        else 9999,
        "page": 1,
        "criterion_id": "RC-RISK",
        "reason": "race_conscious",
    }


def test_every_api_route_is_in_the_api_matrix(app):
    from tests.test_api_authz import EXPECTED_API

    api = {
        r.endpoint for r in app.url_map.iter_rules() if r.endpoint.startswith("api.")
    }
    assert api and api == set(EXPECTED_API)


def test_every_route_has_an_expected_decision(app):
    endpoints = {r.endpoint for r in _rules(app)}
    assert endpoints == set(EXPECTED), (
        "add new routes to EXPECTED with their policy decision"
    )


def _notification_of(user):
    from clinic.extensions import db
    from clinic.models import MailStatus, Notification, NotificationKind

    notification = Notification(
        user_id=user.id,
        kind=NotificationKind.REPLY,
        subject="A reply",
        body="A reply",
        link="/",
        mail_status=MailStatus.SENT,
    )
    db.session.add(notification)
    db.session.commit()
    return notification


@pytest.mark.parametrize("role", ROLES)
def test_authorization_matrix(app, client, world, role):
    app.config["WTF_CSRF_ENABLED"] = False
    world.target = builders.gen_user(Role.DIRECTOR, name="Target User")
    world.token, _ = tokens.create_token(world.coach, world.coach, "matrix")
    world.director_notification = _notification_of(world.director)
    world.coach_notification = _notification_of(world.coach)
    if role != "anonymous":
        user = world.users[role]
        response = client.post(
            "/auth/login", data={"email": user.email, "password": builders.PASSWORD}
        )
        assert response.status_code == 302, f"{role} could not sign in"
    failures = []
    for rule in _rules(app):
        for own in (True, False):
            url = _url(rule, _objects(world, own))
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                if rule.endpoint == "auth.logout":
                    continue  # signing out mid-walk would end the session; covered in test_auth
                response = client.open(url, method=method)
                status = response.status_code
                sent_to_login = (
                    status == 302 and "/auth/login" in response.headers["Location"]
                )
                if role == "anonymous":
                    expected = OK if rule.endpoint in PUBLIC else "login"
                else:
                    expected = expectation(
                        EXPECTED[rule.endpoint][0 if own else 1][role], role, rule, own
                    )
                if expected == OK:
                    # Allowed: the view ran (a form may still reject empty input with 400).
                    good = status not in (401, 403, 404, 500) and not sent_to_login
                elif expected == "login":
                    good = sent_to_login
                else:
                    good = status == expected
                if not good:
                    failures.append(
                        f"{method} {url} as {role}: got {status}, expected {expected}"
                    )
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("role", ["admin", "dean"])
def test_missing_objects_answer_404(app, client, world, role):
    app.config["WTF_CSRF_ENABLED"] = False
    client.post(
        "/auth/login",
        data={"email": world.users[role].email, "password": builders.PASSWORD},
    )
    for rule in _rules(app):
        if (
            rule.arguments
            and "GET" in rule.methods
            # Staff areas answer a dean 403 before looking anything up.
            and not rule.endpoint.startswith(("admin.", "rubric_health."))
            or (role == "admin" and rule.arguments and "GET" in rule.methods)
        ):
            ids = {
                "course_id": 9999,
                "clinic_id": 9999,
                "user_id": 9999,
                "document_id": 9999,
            }
            ids.update(
                version_id=9999,
                finding_id=9999,
                page=1,
                action_item_id=9999,
                token_id=9999,
                notification_id=9999,
                criterion_id="RC-NONE",
                reason="race_conscious",
            )
            url = _url(rule, ids)
            assert client.get(url).status_code == 404, url


def test_unguarded_route_stops_the_app():
    app = Flask(__name__)

    @app.get("/open")
    def open_view():
        return "no policy"

    with pytest.raises(RuntimeError, match="open_view"):
        check_all_routes_guarded(app)


def test_guarded_route_passes():
    app = Flask(__name__)

    @app.get("/fine")
    @guard("public")
    def fine():
        return "ok"

    check_all_routes_guarded(app)


def test_dean_sees_every_clinic_but_changes_nothing(client, auth, world):
    auth.login(world.dean.email)
    page = client.get("/").get_data(as_text=True)
    assert "NEPH 610" in page and "CARD 630" in page
    assert "Manage courses" not in page
    assert client.post(
        f"/admin/users/{world.director.id}/active", data={"active": "0"}
    ).status_code in (400, 403)


def test_director_home_lists_only_their_courses(client, auth, world):
    auth.login(world.director.email)
    page = client.get("/").get_data(as_text=True)
    assert "NEPH 610" in page
    assert "CARD 630" not in page
    assert "CARD 630" not in client.get("/clinics").get_data(as_text=True)
    assert "CARD 630" not in client.get("/courses").get_data(as_text=True)


def test_coach_home_lists_only_assigned_clinics(client, auth, world):
    auth.login(world.coach.email)
    page = client.get("/").get_data(as_text=True)
    assert "NEPH 610" in page
    assert "CARD 630" not in page


# --- what each role reads of the coach's comment and internal notes, before and after
# feedback is shared (the content of allowed pages, not only their status codes).
COMMENT = "Coach thinking aloud: the eGFR slide needs a rewrite"
FINDING_NOTE = "Internal: the director pushed back on this last year"
CLINIC_NOTE = "Internal: pair this clinic with the nephrology retreat"
# (reader, clinic status) -> (sees the comment, sees the internal notes)
PRIVACY = {
    ("coach", "in_review"): (True, True),
    ("coach", "feedback_shared"): (True, True),
    ("admin", "in_review"): (True, True),
    ("admin", "feedback_shared"): (True, True),
    ("director", "in_review"): (False, False),
    ("director", "feedback_shared"): (True, False),
    ("dean", "in_review"): (False, False),
    ("dean", "feedback_shared"): (True, False),
}


def _private_world(world, status):
    from clinic.extensions import db
    from clinic.models import ClinicStatus
    from clinic.services import workflow

    world.clinic.status = ClinicStatus.IN_REVIEW
    db.session.commit()
    workflow.add_comment(world.coach, world.finding, COMMENT)
    workflow.add_note(world.coach, world.clinic, FINDING_NOTE, world.finding)
    workflow.add_note(world.coach, world.clinic, CLINIC_NOTE)
    world.clinic.status = ClinicStatus(status)
    db.session.commit()


@pytest.mark.parametrize(("role", "status"), sorted(PRIVACY))
def test_comment_and_note_privacy_on_pages(client, auth, world, role, status):
    _private_world(world, status)
    sees_comment, sees_notes = PRIVACY[(role, status)]
    auth.login(world.users[role].email)
    review = client.get(f"/versions/{world.version.id}/review")
    clinic = client.get(f"/clinics/{world.clinic.id}")
    assert review.status_code == clinic.status_code == 200
    review_html, clinic_html = (
        review.get_data(as_text=True),
        clinic.get_data(as_text=True),
    )
    assert (COMMENT in review_html) is sees_comment
    assert (FINDING_NOTE in review_html) is sees_notes
    assert (CLINIC_NOTE in clinic_html) is sees_notes
    assert ("Internal notes" in review_html + clinic_html) is sees_notes
    plan = client.get(f"/clinics/{world.clinic.id}/action-plan.pdf")
    if plan.status_code == 200:
        import io

        from pypdf import PdfReader

        text = " ".join(
            p.extract_text() for p in PdfReader(io.BytesIO(plan.data)).pages
        )
        assert FINDING_NOTE not in text and CLINIC_NOTE not in text


@pytest.mark.parametrize("status", ["in_review", "feedback_shared"])
def test_notes_cannot_be_written_by_directors_or_deans(client, auth, world, status):
    from clinic.extensions import db
    from clinic.models import ClinicStatus, InternalNote

    world.clinic.status = ClinicStatus(status)
    db.session.commit()
    for user in (world.director, world.dean, world.other_coach):
        auth.login(user.email)
        token = auth.csrf_token("/")
        for url in (
            f"/clinics/{world.clinic.id}/notes",
            f"/findings/{world.finding.id}/notes",
        ):
            response = client.post(url, data={"csrf_token": token, "body": "x"})
            # The other clinic's coach may not even know the clinic exists.
            expected = 404 if user == world.other_coach else 403
            assert response.status_code == expected, (user.role, url)
        auth.logout()
    assert db.session.query(InternalNote).count() == 0
