"""The shape holds: no module imports another that (directly or not) imports it back.

The package layering itself is import-linter's contract in pyproject.toml (`lint-imports`).
"""

from __future__ import annotations

import grimp


def _cycles(graph: grimp.ImportGraph) -> list[tuple[str, ...]]:
    """For each import a → b that b leads back from: the chain b → … → a."""
    found = []
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            back = graph.find_shortest_chain(importer=imported, imported=importer)
            if back is not None:
                found.append(back)
    return found


def test_no_module_imports_itself_back() -> None:
    graph = grimp.build_graph("billpay", cache_dir=None)
    assert _cycles(graph) == []


def test_the_cycle_finder_sees_a_cycle() -> None:
    graph = grimp.ImportGraph()
    for name in ("pkg", "pkg.a", "pkg.b", "pkg.c"):
        graph.add_module(name)
    graph.add_import(importer="pkg.a", imported="pkg.b")
    graph.add_import(importer="pkg.b", imported="pkg.c")
    graph.add_import(importer="pkg.c", imported="pkg.a")
    assert len(_cycles(graph)) == 3
    graph.remove_import(importer="pkg.c", imported="pkg.a")
    assert _cycles(graph) == []
