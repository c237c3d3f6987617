"""Invitations (single-use signed links by email), password reset by email, sign in and out."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from mlconnector.tenants.models import Invitation, Membership
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def invite(admin, email="newbie@example.com", role="viewer") -> str:
    response = client_for(admin).post(reverse("tenant-invite"), {"email": email, "role": role}, follow=True)
    assert b"Invitation sent to" in response.content
    link = next(line for line in mail.outbox[-1].body.splitlines() if "/invitations/" in line)
    return link.split("testserver", 1)[1]


def test_a_newcomer_accepts_an_invitation_by_choosing_a_password(admin_a, tenant_a):
    path = invite(admin_a, role="admin")
    assert "newbie@example.com" in mail.outbox[0].to and "Acme Ltd" in mail.outbox[0].subject
    browser = Client()
    page = browser.get(path)
    assert b"Create account and join" in page.content
    bad = browser.post(path, {"username": "newbie", "password1": "short", "password2": "short"})
    assert bad.status_code == 400 and b"too short" in bad.content
    done = browser.post(
        path,
        {"username": "newbie", "password1": "a-Long-pass-phrase-9", "password2": "a-Long-pass-phrase-9"},
        follow=True,
    )
    assert b"Welcome to Acme Ltd. You joined as admin." in done.content
    user = get_user_model().objects.get(username="newbie")
    assert user.email == "newbie@example.com" and Membership.objects.get(user=user, tenant=tenant_a).role == "admin"


def test_a_used_link_says_so(admin_a):
    path = invite(admin_a)
    Client().post(
        path, {"username": "newbie", "password1": "a-Long-pass-phrase-9", "password2": "a-Long-pass-phrase-9"}
    )
    again = Client().get(path)
    assert again.status_code == 400 and b"already been used" in again.content


def test_an_expired_link_says_so(admin_a):
    path = invite(admin_a)
    Invitation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    page = Client().get(path)
    assert page.status_code == 400 and b"This invitation has expired" in page.content


def test_a_tampered_or_withdrawn_link_says_so(admin_a):
    path = invite(admin_a)
    assert b"not valid" in Client().get(path[:-3] + "xyz/").content
    Invitation.objects.update(revoked_at=timezone.now())
    assert b"withdrawn" in Client().get(path).content


def test_someone_with_an_account_signs_in_first(admin_a, admin_b, tenant_a):
    path = invite(admin_a, email=admin_b.email)
    page = Client().get(path)
    assert b"Sign in to accept" in page.content
    # Signed in as someone else, the link is refused with the reason.
    mismatch = client_for(admin_a).get(path)
    assert mismatch.status_code == 403 and b"but you are signed in as alice" in mismatch.content


def test_inviting_an_existing_member_is_explained_next_to_the_field(admin_a, viewer_a):
    response = client_for(admin_a).post(reverse("tenant-invite"), {"email": viewer_a.email, "role": "admin"})
    assert response.status_code == 400 and b"is already a member of Acme Ltd" in response.content


def test_password_reset_by_email(admin_a):
    browser = Client()
    page = browser.post(reverse("password_reset"), {"email": admin_a.email}, follow=True)
    assert b"Check your email" in page.content
    link = next(line for line in mail.outbox[0].body.splitlines() if "/reset/" in line)
    form = browser.get(link.split("testserver", 1)[1], follow=True)
    assert b"Choose a new password" in form.content
    done = browser.post(
        form.redirect_chain[-1][0],
        {"new_password1": "brand-New-pass-77", "new_password2": "brand-New-pass-77"},
        follow=True,
    )
    assert b"Your password is set" in done.content
    assert browser.login(username="alice", password="brand-New-pass-77")
    reused = Client().get(link.split("testserver", 1)[1], follow=True)
    assert b"not valid any more" in reused.content


def test_sign_in_and_sign_out(admin_a):
    browser = Client()
    wrong = browser.post(reverse("login"), {"username": "alice", "password": "nope"})
    assert b"Please enter a correct username and password" in wrong.content
    home = browser.post(reverse("login"), {"username": "alice", "password": "correct horse battery"}, follow=True)
    assert b"Connections" in home.content and b"Sign out" in home.content
    assert browser.get(reverse("logout")).status_code == 405  # logout is a POST
    out = browser.post(reverse("logout"), follow=True)
    assert b"Sign in" in out.content and browser.get("/").status_code == 302
