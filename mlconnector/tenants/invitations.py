"""Invitations: issue one (a signed single-use link, by email) and resolve a link back to its row."""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from mlconnector.tenants.models import Invitation, Membership

log = logging.getLogger("mlconnector.tenants")

SALT = "mlconnector.tenants.invitation"


def valid_days() -> int:
    return int(getattr(settings, "MLCONNECTOR_INVITATION_DAYS", 7))


class InvitationProblem(Exception):
    """Why a link cannot be used, in words for the person holding it."""


def token_for(invitation: Invitation) -> str:
    return signing.TimestampSigner(salt=SALT).sign_object({"i": invitation.pk, "n": invitation.nonce})


def invite(*, tenant, email: str, role: str, invited_by, build_url) -> Invitation:
    """Create the invitation and email its link; `build_url(path)` makes the absolute URL."""
    invitation = Invitation.objects.create(
        tenant=tenant,
        email=email,
        role=role,
        nonce=secrets.token_urlsafe(24),
        invited_by=invited_by,
        expires_at=timezone.now() + timedelta(days=valid_days()),
    )
    link = build_url(reverse("invitation-accept", args=[token_for(invitation)]))
    inviter = invited_by.get_full_name() or invited_by.get_username()
    send_mail(
        f"{inviter} invited you to {tenant.name} on ml-connector",
        f"{inviter} invited you to join {tenant.name} on ml-connector as {invitation.get_role_display().lower()}.\n\n"
        f"Accept here (the link works once, for {valid_days()} days):\n{link}\n\n"
        "If you did not expect this, ignore this email.",
        None,
        [email],
    )
    log.info("invitation %s: %s invited %s to tenant %s as %s", invitation.pk, inviter, email, tenant.pk, role)
    return invitation


def resolve(token: str) -> Invitation:
    """The open invitation behind a link, or InvitationProblem saying why not."""
    try:
        data = signing.TimestampSigner(salt=SALT).unsign_object(token, max_age=timedelta(days=valid_days()))
    except signing.SignatureExpired:
        raise InvitationProblem("This invitation has expired. Ask an admin of the team to invite you again.")
    except signing.BadSignature:
        raise InvitationProblem("This invitation link is not valid. Check that you copied all of it.")
    invitation = Invitation.objects.select_related("tenant").filter(pk=data.get("i"), nonce=data.get("n")).first()
    if invitation is None or invitation.revoked_at is not None:
        raise InvitationProblem("This invitation was withdrawn. Ask an admin of the team to invite you again.")
    if invitation.accepted_at is not None:
        raise InvitationProblem(
            "This invitation has already been used. Sign in with the account that accepted it, "
            "or ask an admin to invite you again."
        )
    if invitation.expires_at <= timezone.now():
        raise InvitationProblem("This invitation has expired. Ask an admin of the team to invite you again.")
    return invitation


def accept(invitation: Invitation, user) -> Membership:
    """Join the tenant; the conditional UPDATE makes a link that two tabs submit at once work only once."""
    with transaction.atomic():
        claimed = Invitation.objects.filter(pk=invitation.pk, accepted_at__isnull=True, revoked_at__isnull=True).update(
            accepted_at=timezone.now(), accepted_by=user
        )
        if not claimed:
            raise InvitationProblem("This invitation has already been used.")
        membership, created = Membership.objects.get_or_create(
            user=user, tenant=invitation.tenant, defaults={"role": invitation.role}
        )
        if not created and invitation.role == Membership.Role.ADMIN and membership.role != Membership.Role.ADMIN:
            membership.role = Membership.Role.ADMIN
            membership.save(update_fields=["role"])
    log.info(
        "invitation %s accepted by user %s: %s in tenant %s",
        invitation.pk,
        user.pk,
        membership.role,
        invitation.tenant_id,
    )
    return membership
