"""Every library module and every test has a Bazel target.

Bazel cannot fetch its rule sets offline here, so this test stands in for `bazel query`:
it parses every BUILD file as Starlark (a Python subset) and checks that each module under
tfnfrl/ appears in some `py_library` srcs and each tests/**/test_*.py in some `py_test`.
"""

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def build_files():
    return sorted(p for p in ROOT.rglob("BUILD") if ".git" not in p.parts)


def targets(build_file):
    """(rule name, attributes) for each rule call in a BUILD file; srcs made repo-relative."""
    tree = ast.parse(build_file.read_text(), filename=str(build_file))
    package = build_file.parent.relative_to(ROOT)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            attrs = {}
            for kw in node.keywords:
                try:
                    attrs[kw.arg] = ast.literal_eval(kw.value)
                except ValueError:
                    attrs[kw.arg] = None  # e.g. glob(): not an explicit list.
            srcs = attrs.get("srcs") or []
            attrs["srcs"] = {str(package / s) if str(package) != "." else s for s in srcs}
            found.append((node.func.id, attrs))
    return found


def all_targets():
    return [t for b in build_files() for t in targets(b)]


def test_build_files_parse_and_name_their_targets():
    assert build_files(), "no BUILD files found"
    for rule, attrs in all_targets():
        if rule.startswith("py_"):
            assert attrs.get("name"), f"{rule} without a name"


def covered(rules):
    return set().union(*[a["srcs"] for r, a in all_targets() if r in rules])


@pytest.mark.parametrize(
    "pattern,rules",
    [("tfnfrl/**/*.py", ("py_library",)), ("tests/**/test_*.py", ("py_test",)),
     ("launch/*.py", ("py_binary",))],
)
def test_every_file_has_a_target(pattern, rules):
    files = {str(p.relative_to(ROOT)) for p in ROOT.glob(pattern) if "__pycache__" not in p.parts}
    missing = sorted(files - covered(rules))
    assert not missing, f"files without a {'/'.join(rules)} target in a BUILD file: {missing}"


def test_targets_name_existing_files():
    listed = covered(("py_library", "py_test", "py_binary"))
    stale = sorted(s for s in listed if not (ROOT / s).exists())
    assert not stale, f"BUILD targets list files that do not exist: {stale}"
