"""/sandbox/: the fake providers. Each integration whose folder has a `sandbox/urls.py` is mounted at
/sandbox/<provider>/."""

from importlib import import_module

from django.urls import include, path

from integrations.sandbox import views
from mlconnector.contract import registry

urlpatterns = [path("", views.index, name="sandbox-index")]

for _integration in registry.all():
    _module_name = _integration.__module__.rsplit(".", 1)[0] + ".sandbox.urls"
    try:
        _module = import_module(_module_name)
    except ModuleNotFoundError as exc:
        if exc.name not in (_module_name, _module_name.rsplit(".", 1)[0]):
            raise
        continue
    urlpatterns.append(path(f"{_integration.provider}/", include(_module_name)))
