"""Slack: FreshBooks events become messages in the channels the tenant's routing rules choose.

What syncs: invoice created/updated, payment received, bill posted/updated, expense
created/updated — each to every channel whose rule matches (posting.py), as Block Kit with a plain
fallback (messages.py). Onboarding is Slack's OAuth v2 install (oauth.py); auth.test is the ping.
"""

from __future__ import annotations

from integrations.slack.client import SlackClient
from integrations.slack.models import EVENT_CHOICES
from mlconnector.contract import Integration, Job
from mlconnector.http import AuditContext


class Slack(Integration):
    provider = "slack"
    label = "Slack"
    auth_kind = "oauth2"
    oauth_module = "integrations.slack.oauth"
    urlconf = "integrations.slack.urls"
    api_urlconf = "integrations.slack.api"
    sync_handlers = {"freshbooks": {event: "post" for event, _ in EVENT_CHOICES}}
    # Posts that wait for their channel are sent once it is usable again; this looks at Slack's
    # channel list every 10 minutes, and only while some post waits (waiting.py).
    jobs = {"channels": Job("check_waiting_channels", every=600, label="Channel check for waiting posts")}

    def client(self, audit: AuditContext | None = None) -> SlackClient:
        return SlackClient(self.connection, audit=audit)

    # --- onboarding -----------------------------------------------------------------------------
    @classmethod
    def pages(cls, connection) -> list[tuple[str, str]]:
        from django.urls import reverse

        return [("Routing rules", reverse("slack-rules")), ("Posts", reverse("slack-posts"))]

    def check(self, audit: AuditContext | None = None) -> str:
        data = self.client(audit).auth_test()
        return f"Signed in to {data.get('team') or 'Slack'} as {data.get('user') or 'the bot'}."

    def describe(self, record_type: str = "channels") -> list[dict]:
        from integrations.slack.channels import known_channels

        return known_channels(self.connection)

    def check_waiting_channels(self, audit: AuditContext | None = None) -> str:
        from integrations.slack.channels import refresh_channels
        from integrations.slack.waiting import waiting_count

        waiting = waiting_count(self.connection)
        if not waiting:
            return ""  # nothing waits: no call to Slack
        resumed = refresh_channels(self.connection).resumed
        if not resumed:
            return ""  # still waiting; said once already, when each post started waiting
        return f"{resumed} of {waiting} waiting post{'s' if waiting != 1 else ''} sent again: the channel is usable now"

    # --- sending --------------------------------------------------------------------------------
    def post(self, event, delivery, audit):
        from integrations.slack.posting import post_delivery

        return post_delivery(self, event, delivery, audit)

    def remote_links(self, delivery) -> list[tuple[str, str]]:
        """Each channel it was posted to, linked to the message itself."""
        from django.conf import settings

        from integrations.slack.models import SlackPost

        links = []
        posts = SlackPost.objects.filter(delivery=delivery, status=SlackPost.Status.POSTED).order_by("pk")
        for post in posts:
            url = settings.SLACK_MESSAGE_URL.format(
                channel=post.channel_id,
                ts=post.ts,
                ts_digits=post.ts.replace(".", ""),
                team=self.connection.external_account_id,
            )
            links.append((f"#{post.channel_name or post.channel_id}", url if post.ts else ""))
        return links

    def prepare_replay(self, delivery, *, resend: bool) -> None:
        from integrations.slack.posting import prepare_replay

        prepare_replay(delivery, resend=resend)
