"""Finance admins' pages for Slack: routing rules (ordered, previewable) and the posts they made."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from integrations.slack.channels import known_channels, refresh_channels, slack_connection_for
from integrations.slack.forms import RoutingRuleForm
from integrations.slack.models import SlackPost
from integrations.slack.preview import preview_rule
from integrations.slack.routing import RoutingRule
from integrations.slack.rule_changes import delete_rule, save_rule, set_enabled
from integrations.slack.waiting import waiting_by_channel
from mlconnector import search
from mlconnector.http import ProviderError
from mlconnector.pipeline.replay import replay_deliveries
from mlconnector.tenants.models import can_edit
from mlconnector.webhooks.models import InboundEvent

POST_FILTERS = ("status", "channel", "q")


def _tenant(request):
    if request.tenant is None:
        raise Http404("You are not a member of any tenant.")
    return request.tenant


def _require_admin(request):
    if not can_edit(request.user, _tenant(request)):
        raise PermissionDenied(f"Only admins of {request.tenant.name} can change Slack routing.")


def _rules(request):
    return RoutingRule.objects.for_user(request.user).filter(tenant=_tenant(request))


def _posts(request):
    return SlackPost.objects.for_user(request.user).filter(tenant=_tenant(request))


def _context(request, **extra):
    tenant = _tenant(request)
    conn = slack_connection_for(tenant)
    waiting = _posts(request).filter(status=SlackPost.Status.WAITING).count()
    return {
        "slack": conn,
        "editable": can_edit(request.user, tenant),
        "tenant": tenant,
        "waiting_posts": waiting,
        **extra,
    }


@login_required
def rules(request):
    context = _context(request, rules=list(_rules(request)))
    if context["waiting_posts"]:
        context["waiting_channels"] = waiting_by_channel(_posts(request))
    return render(request, "slack/rules.html", context)


@login_required
def rule_edit(request, pk: int | None = None):
    rule = get_object_or_404(_rules(request), pk=pk) if pk else None
    ctx = _context(request, rule=rule)
    conn = ctx["slack"]
    form = RoutingRuleForm(request.POST or None, instance=rule, channels=known_channels(conn))
    preview = None
    if request.method == "POST":
        _require_admin(request)
        if form.is_valid():
            if "preview" in request.POST:
                candidate = form.save(commit=False)
                candidate.tenant = ctx["tenant"]
                preview = preview_rule(candidate)
            else:
                saved, resumed = save_rule(form, tenant=ctx["tenant"], conn=conn)
                messages.success(request, f"Rule “{saved.name}” saved: {saved.describe()}.")
                _rerouted(request, resumed)
                return redirect("slack-rules")
    status = 400 if request.method == "POST" and form.errors else 200
    return render(request, "slack/rule_form.html", {**ctx, "form": form, "preview": preview}, status=status)


@login_required
def rule_preview(request, pk: int):
    rule = get_object_or_404(_rules(request), pk=pk)
    return render(request, "slack/rule_preview.html", _context(request, rule=rule, preview=preview_rule(rule)))


@login_required
@require_POST
def rule_action(request, pk: int):
    _require_admin(request)
    rule = get_object_or_404(_rules(request), pk=pk)
    action = request.POST.get("action")
    if action == "delete":
        resumed = delete_rule(rule)
        messages.success(request, f"Rule deleted: {rule.name}.")
        _rerouted(request, resumed)
    elif action in ("enable", "disable"):
        resumed = set_enabled(rule, action == "enable")
        messages.success(request, f"Rule {'enabled' if action == 'enable' else 'disabled'}: {rule.name}.")
        _rerouted(request, resumed)
    elif action in ("up", "down"):
        _move(request, rule, -1 if action == "up" else 1)
    else:
        messages.error(request, "Unknown action.")
    return redirect("slack-rules")


def _rerouted(request, resumed: int) -> None:
    """Posts this rule routed were waiting for their channel: their events were routed again."""
    if resumed:
        messages.info(
            request,
            f"{resumed} event{'s' if resumed != 1 else ''} waiting for a channel "
            f"{'were' if resumed != 1 else 'was'} routed again with this change.",
        )


def _move(request, rule: RoutingRule, step: int) -> None:
    with transaction.atomic():
        # The rule was found through the user's tenant scope; lock that tenant's rules to renumber them.
        ordered = list(RoutingRule.objects.filter(tenant=rule.tenant_id).select_for_update().order_by("position", "id"))
        index = next(i for i, r in enumerate(ordered) if r.pk == rule.pk)
        target = index + step
        if not 0 <= target < len(ordered):
            return
        ordered[index], ordered[target] = ordered[target], ordered[index]
        for position, item in enumerate(ordered):
            if item.position != position:
                RoutingRule.objects.filter(pk=item.pk).update(position=position)


@login_required
@require_POST
def channels_refresh(request):
    _require_admin(request)
    conn = slack_connection_for(_tenant(request))
    if conn is None:
        messages.error(request, "Connect Slack first; then its channels can be listed.")
        return redirect("home")
    try:
        refreshed = refresh_channels(conn, actor=request.user)
    except ProviderError as exc:
        messages.error(request, f"Could not list Slack channels: {exc}")
    else:
        messages.success(request, f"{len(refreshed.channels)} channels listed from {conn.name}.")
        if refreshed.resumed:
            n = refreshed.resumed
            these = f"{n} posts that waited for a channel are" if n != 1 else "1 post that waited for a channel is"
            messages.info(request, f"{these} being sent now.")
    return redirect(request.POST.get("next") or "slack-rules")


def _filtered_posts(request):
    posts = _posts(request).select_related("event")
    status = request.GET.get("status", "")
    if status:
        posts = posts.filter(status=status)
    channel = request.GET.get("channel", "").strip().lstrip("#")
    if channel:
        posts = posts.filter(Q(channel_name__iexact=channel) | Q(channel_id=channel))
    q = request.GET.get("q", "").strip()
    if q:
        # Invoice numbers and client names are encrypted: matched through the events' blind index.
        events = search.matching(InboundEvent.objects.for_tenant(request.tenant), q.lstrip("#"), request.tenant.pk)
        posts = posts.filter(Q(event__in=events.values("pk")) | Q(event__object_id=q) | Q(ts=q))
    return posts


@login_required
def posts(request):
    qs = _filtered_posts(request)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    failed = qs.filter(status=SlackPost.Status.FAILED).values("delivery").distinct().count()
    query = "&".join(f"{k}={request.GET[k]}" for k in POST_FILTERS if request.GET.get(k))
    return render(
        request,
        "slack/posts.html",
        _context(
            request,
            page=page,
            statuses=SlackPost.Status.choices,
            filters={k: request.GET.get(k, "") for k in POST_FILTERS},
            failed_deliveries=failed,
            query=query,
        ),
    )


@login_required
def posts_replay(request):
    """Replay every failed post matching the filter, after showing how many; posted ones stay posted."""
    _require_admin(request)
    failed = _filtered_posts(request).filter(status=SlackPost.Status.FAILED)
    deliveries = sorted(set(failed.values_list("delivery_id", flat=True)))
    posts_count = failed.count()
    if request.method == "POST":
        if request.POST.get("expected") != str(posts_count):
            messages.error(request, "The failed posts changed since you looked; check the new count and confirm again.")
        else:
            from mlconnector.pipeline.models import Delivery

            result = replay_deliveries(Delivery.objects.filter(pk__in=deliveries), actor=request.user)
            messages.success(request, f"Replaying {posts_count} failed posts: {result.summary()}.")
            return redirect("slack-posts")
    return render(
        request,
        "slack/posts_replay.html",
        _context(request, count=posts_count, deliveries=len(deliveries), query=request.GET.urlencode()),
    )


@login_required
@require_POST
def post_replay(request, pk: int):
    """Post this one message again (a failed one, or an uncertain one a person checked is missing)."""
    _require_admin(request)
    post = get_object_or_404(SlackPost.objects.for_user(request.user).filter(tenant=_tenant(request)), pk=pk)
    if post.status not in (SlackPost.Status.FAILED, SlackPost.Status.UNCERTAIN, SlackPost.Status.WAITING):
        messages.error(
            request,
            f"This post is {post.get_status_display().lower()}; "
            "only failed, uncertain or waiting posts are sent again.",
        )
        return redirect("slack-posts")
    from mlconnector.pipeline.models import Delivery

    SlackPost.objects.filter(pk=post.pk).update(status=SlackPost.Status.PENDING, last_error="", error_code="")
    result = replay_deliveries(Delivery.objects.filter(pk=post.delivery_id), actor=request.user, prepare=False)
    if not result.queued:
        messages.error(request, "That post's delivery is running right now; try again in a moment.")
    else:
        messages.success(request, f"Posting again to #{post.channel_name}.")
    return redirect("slack-posts")
