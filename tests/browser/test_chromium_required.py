"""Without Chromium the browser tests fail in CI (MLCONNECTOR_REQUIRE_SERVICES=1) and skip elsewhere."""

import os

import pytest

from tests.browser import conftest


def test_it_fails_without_chromium_when_services_are_required(monkeypatch):
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    monkeypatch.setenv("MLCONNECTOR_REQUIRE_SERVICES", "1")
    with pytest.raises(pytest.fail.Exception, match="browser tests are required here"):
        conftest.require_chromium()


def test_it_skips_loudly_without_chromium_elsewhere(monkeypatch):
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    monkeypatch.delenv("MLCONNECTOR_REQUIRE_SERVICES", raising=False)
    with pytest.raises(pytest.skip.Exception, match="BROWSER TESTS SKIPPED"):
        conftest.require_chromium()


def test_it_finds_the_chromium_it_is_given(monkeypatch, tmp_path):
    fake = tmp_path / "chromium"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.setenv("MLCONNECTOR_CHROMIUM", str(fake))
    assert conftest.require_chromium() == str(fake)
