"""Routes of the fake Salesforce, mounted at /sandbox/salesforce/ (see the package docstring)."""

from django.urls import path, re_path

from integrations.salesforce.sandbox import api, pages

H = r"^(?P<host>[a-z0-9.-]+\.salesforce\.com)"
V = H + r"/services/data/v(?P<version>\d+\.\d)"

urlpatterns = [
    path("", pages.home, name="sandbox-salesforce-home"),
    path("console/<str:host>/<slug:action>/", pages.console_action, name="sandbox-salesforce-action"),
    re_path(
        H + r"/lightning/r/(?P<sobject>\w+)/(?P<record_id>\w+)/view/?$",
        pages.record_page,
        name="sandbox-salesforce-record",
    ),
    re_path(H + r"/services/oauth2/token/?$", api.token, name="sandbox-salesforce-token"),
    re_path(H + r"/services/data/?$", api.versions, name="sandbox-salesforce-versions"),
    re_path(V + r"/?$", api.resources),
    re_path(V + r"/limits/?$", api.limits),
    re_path(V + r"/sobjects/?$", api.global_describe),
    re_path(V + r"/sobjects/(?P<sobject>\w+)/describe/?$", api.describe),
    re_path(V + r"/sobjects/(?P<sobject>\w+)/?$", api.collection),
    re_path(V + r"/sobjects/(?P<sobject>\w+)/(?P<record_id>\w{15}|\w{18})/?$", api.record),
    re_path(V + r"/sobjects/(?P<sobject>\w+)/(?P<field>\w+)/(?P<value>[^/]+)/?$", api.by_external_id),
    re_path(V + r"/query/?$", api.query),
    re_path(V + r"/query/(?P<locator>[\w-]+)/?$", api.query_more),
    re_path(V + r"/composite/sobjects/?$", api.composite_create),
    re_path(V + r"/composite/sobjects/(?P<sobject>\w+)/(?P<field>\w+)/?$", api.composite_upsert),
]
