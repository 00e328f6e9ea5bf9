"""Administration pages: users, courses, clinics, assignments, audit."""

import re

import sqlalchemy as sa

from clinic.extensions import db
from clinic.models import AuditEvent, Clinic, Course, Role, User
from tests import builders


def _post(client, auth, path, data):
    data = {
        **data,
        "csrf_token": auth.csrf_token(
            path if not path.endswith(("/active", "-password")) else "/admin/users"
        ),
    }
    return client.post(path, data=data)


def _audit(action):
    return list(
        db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action))
    )


def test_admin_creates_user_with_generated_password(client, auth, world):
    auth.login(world.admin.email)
    response = _post(
        client,
        auth,
        "/admin/users/new",
        {"email": "New.Coach@School.example.edu", "name": "Nia Coach", "role": "coach"},
    )
    assert response.status_code == 302
    page = client.get("/admin/users").get_data(as_text=True)
    password = re.search(r"Their password is (\S+) ", page).group(1)
    user = db.session.scalar(
        sa.select(User).where(User.email == "new.coach@school.example.edu")
    )
    assert user.role == Role.COACH
    (event,) = _audit("user.create")
    assert event.actor_id == world.admin.id and event.after["role"] == "coach"
    auth.logout()
    assert auth.login("new.coach@school.example.edu", password).status_code == 302


def test_duplicate_email_is_refused_case_insensitively(client, auth, world):
    auth.login(world.admin.email)
    response = _post(
        client,
        auth,
        "/admin/users/new",
        {
            "email": world.coach.email.upper(),
            "name": "Dup",
            "role": "coach",
            "password": "x" * 12,
        },
    )
    assert response.status_code == 200
    assert "already exists" in response.get_data(as_text=True)


def test_invalid_email_and_role_are_refused(client, auth, world):
    auth.login(world.admin.email)
    response = _post(
        client,
        auth,
        "/admin/users/new",
        {"email": "not-an-email", "name": "X", "role": "superuser"},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Not a valid choice" in page
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 6  # the world has 6


def test_deactivate_and_reactivate(client, auth, world):
    auth.login(world.admin.email)
    _post(client, auth, f"/admin/users/{world.coach.id}/active", {"active": "0"})
    db.session.refresh(world.coach)
    assert not world.coach.active
    assert _audit("user.deactivate")[0].before["active"] is True
    _post(client, auth, f"/admin/users/{world.coach.id}/active", {"active": "1"})
    db.session.refresh(world.coach)
    assert world.coach.active


def test_admin_cannot_deactivate_self(client, auth, world):
    auth.login(world.admin.email)
    _post(client, auth, f"/admin/users/{world.admin.id}/active", {"active": "0"})
    db.session.refresh(world.admin)
    assert world.admin.active
    assert "cannot deactivate your own account" in client.get("/admin/users").get_data(
        as_text=True
    )


def test_reset_password_shows_new_password_once(client, auth, world):
    auth.login(world.admin.email)
    _post(client, auth, f"/admin/users/{world.dean.id}/reset-password", {})
    page = client.get("/admin/users").get_data(as_text=True)
    password = re.search(r"New password for \S+: (\S+) ", page).group(1)
    assert password not in client.get("/admin/users").get_data(as_text=True)
    auth.logout()
    assert auth.login(world.dean.email, builders.PASSWORD).status_code == 401
    assert auth.login(world.dean.email, password).status_code == 302


def test_create_course_with_directors(client, auth, world):
    auth.login(world.admin.email)
    response = _post(
        client,
        auth,
        "/admin/courses/new",
        {
            "code": "PULM 620",
            "title": "Respiratory Medicine",
            "kind": "course",
            "school": "School of Medicine",
            "directors": [str(world.director.id)],
        },
    )
    assert response.status_code == 302
    course = db.session.scalar(sa.select(Course).where(Course.code == "PULM 620"))
    assert course.directors == [world.director]
    assert _audit("course.create")[0].after["directors"] == [world.director.email]


def test_course_directors_must_be_directors(client, auth, world):
    auth.login(world.admin.email)
    response = _post(
        client,
        auth,
        "/admin/courses/new",
        {
            "code": "PULM 620",
            "title": "Respiratory",
            "kind": "course",
            "school": "SoM",
            "directors": [str(world.coach.id)],
        },
    )
    assert response.status_code == 200
    assert db.session.scalar(sa.select(Course).where(Course.code == "PULM 620")) is None


def test_create_clinic_and_assign_coaches(client, auth, world):
    auth.login(world.admin.email)
    response = _post(
        client,
        auth,
        "/admin/clinics/new",
        {
            "course": str(world.course.id),
            "academic_year": "2027-28",
            "coaches": [str(world.other_coach.id)],
        },
    )
    assert response.status_code == 302
    clinic = db.session.scalar(
        sa.select(Clinic).where(Clinic.academic_year == "2027-28")
    )
    assert clinic.coaches == [world.other_coach]
    _post(
        client,
        auth,
        f"/admin/clinics/{clinic.id}/coaches",
        {"coaches": [str(world.coach.id)]},
    )
    db.session.refresh(clinic)
    assert clinic.coaches == [world.coach]
    assert _audit("clinic.update")[0].before["coaches"] == [world.other_coach.email]


def test_one_clinic_per_course_and_year(client, auth, world):
    auth.login(world.admin.email)
    response = _post(
        client,
        auth,
        "/admin/clinics/new",
        {
            "course": str(world.course.id),
            "academic_year": "2026-27",
        },
    )
    assert "already has a clinic for 2026-27" in response.get_data(as_text=True)


def test_academic_year_format(client, auth, world):
    auth.login(world.admin.email)
    response = _post(
        client,
        auth,
        "/admin/clinics/new",
        {"course": str(world.course.id), "academic_year": "2026-28"},
    )
    assert "should look like 2026-27" in response.get_data(as_text=True)


def test_assigned_coach_then_sees_clinic(client, auth, world):
    auth.login(world.other_coach.email)
    assert client.get(f"/clinics/{world.clinic.id}").status_code == 404
    world.clinic.coaches.append(world.other_coach)
    db.session.commit()
    assert client.get(f"/clinics/{world.clinic.id}").status_code == 200


def test_audit_log_page(client, auth, world):
    auth.login(world.admin.email)
    _post(client, auth, f"/admin/users/{world.coach.id}/active", {"active": "0"})
    page = client.get("/admin/audit").get_data(as_text=True)
    assert "user.deactivate" in page and "auth.login" in page
