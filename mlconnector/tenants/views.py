"""The team page (members, invitations) and accepting an invitation from its emailed link."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from mlconnector.tenants import invitations
from mlconnector.tenants.forms import InviteForm, JoinForm
from mlconnector.tenants.middleware import switch_tenant
from mlconnector.tenants.models import Invitation, Membership, can_edit


def _team_page(request, form=None, status=200):
    tenant = request.tenant
    context = {"form": form, "members": [], "pending": []}
    if tenant is not None:
        context["members"] = Membership.objects.filter(tenant=tenant).select_related("user").order_by("user__username")
        context["pending"] = Invitation.objects.filter(
            tenant=tenant, accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
        ).select_related("invited_by")
        context["form"] = form or InviteForm(tenant=tenant)
    return render(request, "tenants/team.html", context, status=status)


@login_required
def team(request):
    return _team_page(request)


@login_required
@require_POST
def invite(request):
    tenant = request.tenant
    if tenant is None or not can_edit(request.user, tenant):
        raise PermissionDenied("Only admins of this tenant can invite people.")
    form = InviteForm(request.POST, tenant=tenant)
    if not form.is_valid():
        return _team_page(request, form, status=400)
    invitation = invitations.invite(
        tenant=tenant,
        email=form.cleaned_data["email"],
        role=form.cleaned_data["role"],
        invited_by=request.user,
        build_url=request.build_absolute_uri,
    )
    messages.success(
        request,
        f"Invitation sent to {invitation.email} as {invitation.get_role_display().lower()}. "
        f"The link works once, for {invitations.valid_days()} days.",
    )
    return redirect("tenant-team")


@login_required
@require_POST
def revoke(request, pk: int):
    invitation = get_object_or_404(Invitation.objects.filter(tenant__memberships__user=request.user).distinct(), pk=pk)
    if not can_edit(request.user, invitation.tenant):
        raise PermissionDenied("Only admins of this tenant can withdraw invitations.")
    Invitation.objects.filter(pk=invitation.pk, accepted_at__isnull=True).update(revoked_at=timezone.now())
    messages.success(request, f"The invitation for {invitation.email} was withdrawn; its link no longer works.")
    return redirect("tenant-team")


def accept(request, token: str):
    """Open to anyone holding the link: join as the signed-in user, sign in first, or create an account."""
    try:
        invitation = invitations.resolve(token)
    except invitations.InvitationProblem as problem:
        return render(request, "tenants/invitation_problem.html", {"problem": str(problem)}, status=400)
    User = get_user_model()
    owner = User.objects.filter(email__iexact=invitation.email, is_active=True).first()
    user = request.user if request.user.is_authenticated else None
    context = {"invitation": invitation, "token": token}
    if user is not None and owner is not None and owner.pk != user.pk:
        context["mismatch"] = True
        return render(request, "tenants/accept.html", context, status=403)
    if user is None and owner is not None:
        context["sign_in_url"] = f"{reverse('login')}?next={reverse('invitation-accept', args=[token])}"
        return render(request, "tenants/accept.html", context)
    form = JoinForm(request.POST or None) if user is None else None
    if request.method == "POST":
        if user is None:
            if not form.is_valid():
                context["form"] = form
                return render(request, "tenants/accept.html", context, status=400)
            user = form.save(commit=False)
            user.email = invitation.email
            user.save()
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        try:
            membership = invitations.accept(invitation, user)
        except invitations.InvitationProblem as problem:
            return render(request, "tenants/invitation_problem.html", {"problem": str(problem)}, status=400)
        switch_tenant(request, invitation.tenant)
        messages.success(
            request, f"Welcome to {invitation.tenant.name}. You joined as {membership.get_role_display().lower()}."
        )
        return redirect("home")
    context["form"] = form
    return render(request, "tenants/accept.html", context)
