"""Routes of the sink's fake server, mounted at /sandbox/testsink/."""

from tests.testsink.sandbox import urlpatterns

__all__ = ["urlpatterns"]
