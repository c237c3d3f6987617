from django.shortcuts import render
from django.urls import NoReverseMatch, reverse

from mlconnector.contract import registry


def index(request):
    fakes = []
    for integration in registry.all():
        try:
            url = reverse(f"sandbox-{integration.provider}-home")
        except NoReverseMatch:
            continue
        fakes.append({"label": integration.label, "url": url})
    return render(request, "sandbox/index.html", {"fakes": fakes})
