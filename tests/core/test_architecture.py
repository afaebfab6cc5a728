"""The layering of docs/architecture.md, checked on the source: what may import what, and what
the library never does (print, parse command lines)."""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "tracker"

#: layer of each top-level module or subpackage of ``tracker`` (docs/architecture.md); a module
#: may import modules of its own layer or below
LAYERS = {
    "core": ("errors", "exit_codes", "status", "special_paths", "model_registry", "config_base", "config", "boxes",
             "detections", "tracks", "motion", "camera_motion", "shots", "memory", "assignment", "association",
             "core"),
    "stages": ("detectors", "embedding", "io", "evaluation", "viz", "offline"),
    "run": ("run", "pipeline", "mot_runner", "batch", "benchmarking", "training", "report", "link"),
    "commands": ("commands", "cli"),
}
RANK = {name: rank for rank, names in enumerate(LAYERS.values()) for name in names}
#: package-level names that are not modules (``from tracker import __version__``)
PACKAGE_ATTRIBUTES = {"__version__"}
#: a build script shipped beside the model it converts (run by hand, never imported)
SCRIPTS = {PACKAGE / "models" / "detector" / "convert_ssdlite.py"}


def modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        if path in SCRIPTS or path == PACKAGE / "__init__.py":
            continue
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        yield path, parts[0], ast.parse(path.read_text(encoding="utf-8"), str(path))


def imported(tree) -> list:
    """Top-level ``tracker`` parts imported anywhere in ``tree`` (also inside functions)."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "tracker":
            parts = node.module.split(".")
            if len(parts) > 1:
                out.append((parts[1], node.lineno))
            else:  # from tracker import x
                out += [(a.name, node.lineno) for a in node.names if a.name not in PACKAGE_ATTRIBUTES]
        elif isinstance(node, ast.Import):
            out += [(a.name.split(".")[1], node.lineno) for a in node.names
                    if a.name.startswith("tracker.")]
    return out


def test_every_module_has_a_layer():
    tops = {parts for _, parts, _ in modules()}
    assert tops <= set(RANK), sorted(tops - set(RANK))


def test_no_module_imports_a_layer_above_its_own():
    """In particular the library never imports ``tracker.commands`` or ``tracker.cli``."""
    wrong = []
    for path, top, tree in modules():
        for target, line in imported(tree):
            if target in RANK and RANK[target] > RANK[top]:
                wrong.append(f"{path.relative_to(PACKAGE.parent)}:{line} ({top}) imports tracker.{target}")
    assert not wrong, "\n".join(wrong)


def test_the_library_never_prints_nor_parses_command_lines():
    wrong = []
    for path, top, tree in modules():
        if RANK[top] == RANK["cli"]:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
                wrong.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: print()")
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                if "argparse" in names:
                    wrong.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: imports argparse")
    assert not wrong, "\n".join(wrong)


def test_the_architecture_page_names_every_layer_and_module():
    page = (PACKAGE.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    for layer, names in LAYERS.items():
        assert f"## {layer}" in page.lower(), layer
        for name in names:
            assert f"`{name}" in page, name
