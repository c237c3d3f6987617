"""The team page, invitations, and the link an invitee opens."""

from django.urls import path

from mlconnector.tenants import views

urlpatterns = [
    path("team/", views.team, name="tenant-team"),
    path("team/invite/", views.invite, name="tenant-invite"),
    path("team/invitations/<int:pk>/withdraw/", views.revoke, name="tenant-invitation-revoke"),
    path("invitations/<str:token>/", views.accept, name="invitation-accept"),
]
