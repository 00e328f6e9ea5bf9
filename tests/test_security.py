"""Security: no foreign data in any answer, escaped free text, headers, cookies, sessions.

The route-by-route authorization matrices are in test_authz.py and test_api_authz.py;
login throttling is in test_auth.py and token basics in test_tokens.py.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import time

import pytest
import sqlalchemy as sa

from clinic import config as config_module
from clinic.extensions import db
from clinic.models import Document, Role
from clinic.rubric_cache import app_rubric
from clinic.services import reviews, tokens, workflow
from tests import builders

FLAGGED = "Black patients have higher muscle mass than White patients."


def payload(tag: str) -> str:
    """Breaks out of an attribute, then tries a tag with a handler and a script."""
    return f"\"><img src=x onerror=alert('{tag}')><script>alert('{tag}')</script>"


RAW = re.compile(r"<script>alert\(|<img src=x onerror", re.IGNORECASE)
INLINE_SCRIPT = re.compile(
    r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.IGNORECASE
)


def _ids(world, own: bool = True) -> dict:
    return {
        "course_id": (world.course if own else world.other_course).id,
        "clinic_id": (world.clinic if own else world.other_clinic).id,
        "user_id": (world.target if own else world.other_director).id,
        "document_id": (world.document if own else world.other_document).id,
        "version_id": (world.version if own else world.other_version).id,
        "finding_id": (world.finding if own else world.other_finding).id,
        "action_item_id": (world.action_item if own else world.other_action_item).id,
        "token_id": (world.token if own else world.other_token).id,
        "criterion_id": next(iter(app_rubric().manual_criteria)),
        "notification_id": _notification_of(
            world.director if own else world.other_director
        ),
        "page": 1,
        "reason": "race_conscious",
    }


def _notification_of(user) -> int:
    """The id of the user's latest notification (the world assigns each director an item)."""
    from clinic.models import Notification

    return db.session.scalar(
        sa.select(sa.func.max(Notification.id)).where(Notification.user_id == user.id)
    )


def _url(rule, ids: dict) -> str:
    return rule.build({arg: ids[arg] for arg in rule.arguments}, append_unknown=False)[
        1
    ]


def _sign_in(app, client, user) -> None:
    app.config["WTF_CSRF_ENABLED"] = False
    response = client.post(
        "/auth/login", data={"email": user.email, "password": builders.PASSWORD}
    )
    assert response.status_code == 302


# --------------------------------------------------------------------------- foreign objects


MARKERS = ("zanzibar", "quokka", "wombat", "numbat", "platypus")


@pytest.fixture
def secret_world(world):
    """The foreign clinic gets words that appear nowhere else (all lower-cased in MARKERS)."""
    world.other_course.title = "Zanzibar Cardiology"
    db.session.commit()
    version = builders.gen_version(
        world.other_clinic,
        world.other_director,
        filename="quokka-secrets.txt",
        data=f"The platypus cohort study.\n\n{FLAGGED} Says the quokka trial.".encode(),
    )
    world.other_version, world.other_document = version, version.document
    world.other_finding = version.findings[0]
    world.other_action_item = workflow.create_action_item(
        world.admin, world.other_clinic, title="Wombat plan", owner=world.other_director
    )
    workflow.add_comment(world.other_coach, world.other_finding, "Numbat comment")
    world.target = builders.gen_user(Role.DIRECTOR, name="Target User")
    world.token, world.token_text = tokens.create_token(None, world.coach, "own")
    world.other_token, _ = tokens.create_token(None, world.other_coach, "foreign")
    return world


@pytest.mark.parametrize("role", ["coach", "director"])
def test_no_answer_shows_a_foreign_object(app, client, secret_world, role):
    """Every page and API route, every method, with foreign ids: nothing of them comes back."""
    world = secret_world
    user = world.users[role]
    _sign_in(app, client, user)
    api_token = tokens.create_token(None, user, "leak check")[1]
    ids = _ids(world, own=False)
    leaks, seen = [], 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint.endswith("static") or rule.endpoint == "auth.logout":
            continue
        url = _url(rule, ids)
        headers = (
            {"Authorization": f"Bearer {api_token}"}
            if rule.endpoint.startswith("api.")
            else {}
        )
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            kwargs = {"json": {}} if method != "GET" and headers else {}
            response = client.open(url, method=method, headers=headers, **kwargs)
            seen += 1
            body = response.get_data().decode("utf-8", "replace").lower()
            found = [m for m in MARKERS if m in body]
            if found:
                leaks.append(f"{method} {url} ({response.status_code}): {found}")
    assert seen > 50
    assert not leaks, "\n".join(leaks)


def test_the_markers_are_visible_to_those_allowed(app, client, secret_world):
    """The check above would find a leak: the admin does see the foreign objects."""
    _sign_in(app, client, secret_world.admin)
    ids = _ids(secret_world, own=False)
    pages = " ".join(
        client.get(path.format(**ids)).get_data(as_text=True).lower()
        for path in (
            "/courses/{course_id}",
            "/clinics/{clinic_id}",
            "/versions/{version_id}/review",
        )
    )
    assert all(marker in pages for marker in MARKERS)


# --------------------------------------------------------------------------- stored XSS


@pytest.fixture
def xss_world(world):
    """A payload in every free-text field a user can fill in."""
    world.course.title = payload("xss-course-title")
    db.session.commit()
    world.target = builders.gen_user(Role.DIRECTOR, name=payload("xss-user-name"))
    version = builders.gen_version(
        world.clinic,
        world.director,
        filename=payload("xss-file-name").replace("</script>", "") + ".txt",
        data=f"{payload('xss-document-text')}\n\n{FLAGGED}\n".encode(),
    )
    assert version.findings, "the payload document must have findings to review"
    world.version, world.document = version, version.document
    finding = version.findings[0]
    world.finding = finding
    segment = finding.segment
    criterion = app_rubric().criteria[finding.criterion_id]
    reviews.add_manual_finding(
        world.coach,
        version,
        segment,
        finding.start,
        finding.end,
        criterion,
        payload("xss-finding-note"),
    )
    reviews.dismiss(
        world.coach, finding, "other", comment=payload("xss-decision-comment")
    )
    workflow.add_comment(world.coach, finding, payload("xss-comment"))
    world.action_item = workflow.create_action_item(
        world.coach,
        world.clinic,
        title=payload("xss-action-title"),
        description=payload("xss-action-description"),
        owner=world.director,
    )
    workflow.add_session(
        world.coach,
        world.clinic,
        dt.date(2026, 11, 2),
        payload("xss-session-attendees"),
        payload("xss-session-notes"),
    )
    workflow.score_pedagogy(
        world.coach,
        world.clinic,
        next(iter(app_rubric().manual_criteria)),
        2,
        payload("xss-pedagogy-notes"),
        payload("xss-pedagogy-evidence"),
    )
    world.token, _ = tokens.create_token(None, world.coach, payload("xss-token-name"))
    world.other_token = world.token
    return world


TAGS = (
    "xss-course-title",
    "xss-user-name",
    "xss-file-name",
    "xss-document-text",
    "xss-finding-note",
    "xss-decision-comment",
    "xss-comment",
    "xss-action-title",
    "xss-action-description",
    "xss-session-attendees",
    "xss-session-notes",
    "xss-pedagogy-notes",
    "xss-pedagogy-evidence",
)


def test_every_page_escapes_free_text(app, xss_world):
    """Every page, seen by every role: payloads appear as text, never as markup."""
    world = xss_world
    ids = _ids(world)
    shown, problems, pages = set(), [], 0
    for role, user in world.users.items():
        client = app.test_client()
        with app.app_context():  # a request context of its own, as in production
            _sign_in(app, client, user)
        for rule in app.url_map.iter_rules():
            if (
                "GET" not in rule.methods
                or rule.endpoint.endswith("static")
                or rule.endpoint.startswith("api.")
            ):
                continue
            url = _url(rule, ids)
            with app.app_context():
                response = client.get(url)
            if response.status_code != 200:
                continue
            text = response.get_data().decode("utf-8", "replace")
            if response.mimetype == "text/html":
                pages += 1
                if RAW.search(text):
                    problems.append(f"{role} {url}: payload rendered as markup")
                if INLINE_SCRIPT.search(text):
                    problems.append(f"{role} {url}: inline <script> (blocked by CSP)")
                shown.update(tag for tag in TAGS if tag in text)
            else:
                assert "html" not in response.mimetype, url
    assert pages > 20
    assert not problems, "\n".join(problems)
    # Each payload was really on some page (escaped), so the check above saw it.
    assert set(TAGS) - {"xss-user-name"} <= shown, set(TAGS) - shown
    client = app.test_client()
    with app.app_context():
        _sign_in(app, client, world.admin)
        users = client.get("/admin/users").get_data(as_text=True)
    assert "xss-user-name" in users and not RAW.search(users)
    assert "&lt;script&gt;alert(&#39;xss-user-name&#39;)&lt;/script&gt;" in users


def test_api_answers_are_json_not_html(app, client, xss_world):
    token = tokens.create_token(None, xss_world.admin, "api")[1]
    response = client.get(
        f"/api/v1/documents/{xss_world.document.id}/findings",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


# --------------------------------------------------------------------------- headers and files


def _check_headers(response) -> None:
    headers = response.headers
    csp = headers["Content-Security-Policy"]
    directives = dict(
        (part.strip().split(" ", 1) + [""])[:2] for part in csp.split(";")
    )
    assert "'unsafe-inline'" not in directives["script-src"]
    assert "'unsafe-eval'" not in directives["script-src"]
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "DENY"


def test_security_headers_on_every_kind_of_answer(app, client, auth, world):
    auth.login(world.director.email)
    token = tokens.create_token(None, world.director, "t")[1]
    answers = [
        client.get("/"),
        client.get(f"/clinics/{world.clinic.id}"),
        client.get("/no/such/page"),
        client.get(f"/clinics/{world.other_clinic.id}"),
        client.get(f"/versions/{world.version.id}/file"),
        client.get(f"/versions/{world.version.id}/status"),
        client.get("/health"),
        client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}),
        client.get("/api/v1/openapi.json"),
        client.get("/api/v1/me"),
    ]
    assert [a.status_code for a in answers] == [
        200,
        200,
        404,
        404,  # another course's clinic: as if it did not exist
        200,
        200,
        200,
        200,
        200,
        401,
    ]
    for response in answers:
        _check_headers(response)


def test_hsts_over_https(client):
    response = client.get("/auth/login", base_url="https://clinic.example.edu")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    assert "Strict-Transport-Security" not in client.get("/auth/login").headers


def test_uploaded_html_is_never_served_inline(app, client, auth, world):
    html = b"<html><body><script>alert('from the upload')</script>"
    html += FLAGGED.encode() + b"</body></html>"
    version = builders.gen_version(
        world.clinic, world.director, filename="page.txt", data=html
    )
    auth.login(world.director.email)
    response = client.get(f"/versions/{version.id}/file")
    assert response.status_code == 200
    assert response.data == html
    assert response.mimetype == "application/octet-stream"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    # The review page shows the same text escaped.
    review = client.get(f"/versions/{version.id}/review").get_data(as_text=True)
    assert "alert(&#39;from the upload&#39;)" in review
    assert "<script>alert(" not in review


@pytest.mark.parametrize("name", ["evil.html", "evil.svg", "evil.htm", "evil.xhtml"])
def test_html_named_uploads_download_as_attachments(client, auth, world, name):
    """Text with any extension may be analysed, but it only ever comes back as a download."""
    data = b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'><script>alert(1)</script>"
    auth.login(world.director.email)
    token = auth.csrf_token(f"/clinics/{world.clinic.id}")
    client.post(
        f"/clinics/{world.clinic.id}/documents",
        data={
            "files": (io.BytesIO(data + FLAGGED.encode()), name),
            "csrf_token": token,
        },
        content_type="multipart/form-data",
    )
    document = db.session.scalar(sa.select(Document).where(Document.title == "evil"))
    if document is None:
        return  # refused at upload: nothing to serve
    response = client.get(f"/versions/{document.latest.id}/file")
    assert response.mimetype == "application/octet-stream"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    review = client.get(f"/versions/{document.latest.id}/review").get_data(as_text=True)
    assert "<script>alert(" not in review and "onload='alert" not in review


# --------------------------------------------------------------------------- cookies and sessions


def test_sign_in_cookie_is_flagged_and_expires(client, auth, world):
    response = auth.login(world.coach.email)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    expires = re.search(r"Expires=([^;]+)", cookie).group(1)
    left = dt.datetime.strptime(expires, "%a, %d %b %Y %H:%M:%S GMT").replace(
        tzinfo=dt.UTC
    ) - dt.datetime.now(dt.UTC)
    assert dt.timedelta(hours=11) < left <= dt.timedelta(hours=12)


def test_session_hours_setting():
    found = config_module.from_environment(
        {"CLINIC_SESSION_HOURS": "2", "CLINIC_SESSION_MAX_HOURS": "8"}
    )
    assert found["PERMANENT_SESSION_LIFETIME"] == dt.timedelta(hours=2)
    assert found["SESSION_MAX_HOURS"] == 8
    default = config_module.defaults(config_module.PROJECT_ROOT / "instance")
    assert default["PERMANENT_SESSION_LIFETIME"] == dt.timedelta(hours=12)
    assert default["SESSION_MAX_HOURS"] == 24


def test_expired_session_cookie_is_refused(app, client, auth, world):
    """The server refuses a session older than the lifetime, even if the browser resends it."""
    app.config["PERMANENT_SESSION_LIFETIME"] = dt.timedelta(seconds=2)
    response = auth.login(world.coach.email)
    assert response.status_code == 302
    cookie = re.match(r"session=([^;]+)", response.headers["Set-Cookie"]).group(1)
    replay = app.test_client()
    replay.set_cookie("session", cookie)
    with app.app_context():
        assert replay.get("/").status_code == 200
    time.sleep(3)
    replay.set_cookie("session", cookie)  # the very cookie, ignoring its Expires
    with app.app_context():
        response = replay.get("/")
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]


def test_only_navigations_renew_the_cookie(app, client, auth, world):
    """A page's images and fetches, still in flight when its form is posted, must not
    answer with the session from before the post: its flash message would be lost."""
    auth.login(world.coach.email)
    with app.app_context():
        navigate = client.get("/", headers={"Sec-Fetch-Mode": "navigate"})
        image = client.get("/static/review.js", headers={"Sec-Fetch-Mode": "no-cors"})
        read = client.get("/clinics", headers={"Sec-Fetch-Mode": "cors"})
        plain_static = client.get("/static/review.js")
    assert "session=" in navigate.headers.get("Set-Cookie", "")
    assert image.status_code == 200 and "Set-Cookie" not in image.headers
    assert read.status_code == 200 and "Set-Cookie" not in read.headers
    assert "Set-Cookie" not in plain_static.headers


def test_a_sign_in_ends_after_the_maximum_however_busy(app, client, auth, world):
    """Each request renews the idle lifetime, but not SESSION_MAX_HOURS (a tab left
    open, polling for status, must not keep a sign-in alive for ever)."""

    def home():
        with app.app_context():  # a context of its own, as in a real request
            return client.get("/")

    app.config["SESSION_MAX_HOURS"] = 2 / 3600  # two seconds
    assert auth.login(world.coach.email).status_code == 302
    started = time.monotonic()
    while time.monotonic() - started < 1.5:
        assert home().status_code == 200
        time.sleep(0.3)
    time.sleep(1)
    response = home()
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    with app.app_context():
        assert auth.login(world.coach.email).status_code == 302  # again, and it works
    assert home().status_code == 200


def test_signed_out_cookie_cannot_be_reused_for_csrf(client, auth, world):
    """After sign-out the old cookie's forms are refused (the session no longer has a user)."""
    auth.login(world.coach.email)
    token = auth.csrf_token("/")
    auth.logout()
    response = client.post(
        f"/findings/{world.finding.id}/decision",
        data={"action": "confirm", "csrf_token": token},
    )
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


# --------------------------------------------------------------------------- passwords and tokens


@pytest.mark.parametrize("new", ["short1", "123456789", "nine char"])
def test_short_passwords_are_refused(client, auth, world, new):
    auth.login(world.coach.email)
    token = auth.csrf_token("/auth/password")
    response = client.post(
        "/auth/password",
        data={
            "current": builders.PASSWORD,
            "new": new,
            "confirm": new,
            "csrf_token": token,
        },
    )
    assert response.status_code == 200
    assert "at least 10 characters" in response.get_data(as_text=True)
    auth.logout()
    assert auth.login(world.coach.email, new).status_code == 401
    assert auth.login(world.coach.email).status_code == 302


def test_password_rule_holds_in_the_service(app, world):
    from clinic.services import ServiceError, accounts

    with pytest.raises(ServiceError, match="at least 10"):
        accounts.create_user(
            world.admin,
            email="x@school.example.edu",
            name="X",
            role="dean",
            password="abc",
        )
    with pytest.raises(ServiceError, match="at least 10"):
        accounts.change_password(world.dean, builders.PASSWORD, "abc")


def test_revoked_token_is_refused_everywhere_at_once(app, world):
    token, plaintext = tokens.create_token(None, world.coach, "script")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {plaintext}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    tokens.revoke_token(world.coach, token)
    for method, path in [
        ("GET", "/api/v1/me"),
        ("GET", f"/api/v1/clinics/{world.clinic.id}"),
        ("PATCH", f"/api/v1/findings/{world.finding.id}"),
    ]:
        response = client.open(path, method=method, headers=headers, json={})
        assert response.status_code == 401, path
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_token_never_signs_in_a_browser(app, world):
    _token, plaintext = tokens.create_token(None, world.coach, "script")
    client = app.test_client()
    response = client.get("/", headers={"Authorization": f"Bearer {plaintext}"})
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_signed_in_content_is_never_cached_publicly(client, auth, world):
    """Page images of a private self-check were `public, max-age=3600`."""
    private = builders.gen_version(
        None, world.director, filename="selfcheck.pdf", data=builders.lecture_pdf()
    )
    auth.login(world.director.email)
    for url in (
        f"/versions/{private.id}/pages/1.png?w=800",
        f"/versions/{private.id}/review",
        f"/clinics/{world.clinic.id}",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == "private, no-store", url
        assert "public" not in response.headers["Cache-Control"]
    static = client.get("/static/review.js")
    assert "no-store" not in static.headers.get("Cache-Control", "")


def test_api_answers_are_private_too(client, world):
    from clinic.services import tokens

    _, plain = tokens.create_token(world.coach, world.coach, "t")
    response = client.get(
        f"/api/v1/clinics/{world.clinic.id}",
        headers={"Authorization": f"Bearer {plain}"},
    )
    assert response.headers["Cache-Control"] == "private, no-store"
