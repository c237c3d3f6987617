"""URL map: the app, the admin, the API, the webhook receiver, and (when enabled) the sandbox."""

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import include, path, re_path
from django.views.generic import RedirectView

from mlconnector.admin_site import admin_site
from mlconnector.contract import registry
from mlconnector.pipeline import health
from mlconnector.webhooks.views import webhook

urlpatterns = [
    path("admin/", admin_site.urls),
    path("favicon.ico", RedirectView.as_view(url=static("mlconnector/favicon.svg"), permanent=True)),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/", include("django.contrib.auth.urls")),
    # Trailing slash optional: a redirect would count as a failed delivery for webhook senders.
    re_path(r"^hooks/(?P<provider>[a-z0-9_]+)/(?P<endpoint_key>[A-Za-z0-9_-]+)/?$", webhook, name="webhook"),
    path("api/v1/", include("mlconnector.api.v1.urls")),
    # The first, read-only API: still answers, each answer marked deprecated in favour of /api/v1/.
    path("api/", include("mlconnector.api.urls")),
    path("api-tokens/", include("mlconnector.api.token_urls")),
    # For orchestrators and monitors: no login, no tenant data (counts, ages, node names).
    path("health/", health.web_view, name="health"),
    path("health/workers", health.workers_view, name="health-workers"),
    # Each integration's own pages (Slack's routing rules, Monday's board maps) at /<provider>/.
    *[path(f"{i.provider}/", include(i.urlconf)) for i in registry.all() if i.urlconf],
    path("audit/", include("mlconnector.audit.urls")),
    path("", include("mlconnector.tenants.urls")),
    path("", include("mlconnector.connections.urls")),
]

if settings.MLCONNECTOR_SANDBOX:
    urlpatterns.append(path("sandbox/", include(settings.MLCONNECTOR_SANDBOX_URLCONF)))
