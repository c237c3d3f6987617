"""Where a page sits in the product: the main nav's current section, and pages for bare errors."""

from __future__ import annotations

from django.shortcuts import render

from mlconnector.contract import registry

# Paths that are not product pages: answered as they are (API bodies, webhook replies, fakes).
NOT_PAGES = ("/api/", "/hooks/", "/sandbox/", "/static/", "/health/", "/admin/")


def section(request) -> dict:
    """{"nav_section": "connections" | "audit" | "team" | ""}: integration pages (/slack/, /monday/…)
    belong to Connections, as the connection page that links to them does."""
    path = request.path
    if path.startswith("/audit/"):
        current = "audit"
    elif path.startswith(("/team/", "/invitations/")):
        current = "team"
    elif (
        path == "/"
        or path.startswith("/connections/")
        or any(path.startswith(f"/{provider}/") for provider in registry.providers())
    ):
        current = "connections"
    else:
        current = ""
    return {"nav_section": current}


class ErrorPages:
    """A bare 405 (Django's require_POST answers with an empty body) becomes the product's page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code == 405 and not response.content and not request.path.startswith(NOT_PAGES):
            page = render(request, "405.html", status=405)
            if response.has_header("Allow"):
                page["Allow"] = response["Allow"]
            return page
        return response


class OneLineForbidden:
    """logging filter for django.request: a 403 is an expected answer, logged as one INFO line
    (Django logs it as a WARNING with the PermissionDenied traceback)."""

    def filter(self, record) -> bool:
        if getattr(record, "status_code", None) == 403:
            record.exc_info = None
            record.exc_text = None
            record.levelno, record.levelname = 20, "INFO"
        return True
