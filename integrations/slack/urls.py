from django.urls import path

from integrations.slack import views

urlpatterns = [
    path("rules/", views.rules, name="slack-rules"),
    path("rules/new/", views.rule_edit, name="slack-rule-new"),
    path("rules/<int:pk>/", views.rule_edit, name="slack-rule-edit"),
    path("rules/<int:pk>/preview/", views.rule_preview, name="slack-rule-preview"),
    path("rules/<int:pk>/action/", views.rule_action, name="slack-rule-action"),
    path("channels/refresh/", views.channels_refresh, name="slack-channels-refresh"),
    path("posts/", views.posts, name="slack-posts"),
    path("posts/replay/", views.posts_replay, name="slack-posts-replay"),
    path("posts/<int:pk>/replay/", views.post_replay, name="slack-post-replay"),
]
