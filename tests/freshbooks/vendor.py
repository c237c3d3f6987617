"""FreshBooks' own fixtures (integrations/freshbooks/fixtures/vendor), for shape comparisons."""

import json
from pathlib import Path

VENDOR = Path(__file__).resolve().parents[2] / "integrations" / "freshbooks" / "fixtures" / "vendor"


def spec(name: str) -> dict:
    return json.loads((VENDOR / name).read_text())
