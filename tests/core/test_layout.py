"""The house rules that keep the tree readable: arrows run from integrations to the core, and each
integration's fake lives in its own `sandbox/` subpackage, apart from the product."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def test_it_keeps_the_core_free_of_imports_from_integrations():
    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in (ROOT / "mlconnector").rglob("*.py")
        for name in _imports(path)
        if name == "integrations" or name.startswith("integrations.")
    ]
    assert offenders == []


def test_it_keeps_every_fake_inside_its_integrations_sandbox_package():
    stray = [str(path.relative_to(ROOT)) for path in (ROOT / "integrations").glob("*/sandbox_*.py")] + [
        str(path.relative_to(ROOT)) for path in (ROOT / "integrations").glob("*/sandbox.py")
    ]
    assert stray == []


def test_it_keeps_the_product_from_importing_its_fake():
    """The product side of an integration never reaches into a fake (the demo seeding aside)."""
    offenders = []
    for folder in (ROOT / "integrations").iterdir():
        if not (folder / "sandbox").is_dir():
            continue
        for path in folder.glob("*.py"):
            for name in _imports(path):
                if ".sandbox" in name and not name.startswith("integrations.sandbox") and path.name != "demo.py":
                    offenders.append(f"{path.relative_to(ROOT)} imports {name}")
    assert offenders == []
