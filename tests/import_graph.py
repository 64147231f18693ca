"""Import cycles among a package's modules (imports inside functions count), via grimp.

Run as a script with the package's folder on PYTHONPATH: prints one cycle per line, each a group
of modules that import each other directly or through one another (Tarjan's strongly connected
components of the module graph, groups of two or more).
"""

from __future__ import annotations

import sys

import grimp


def import_cycles(package: str = "stancelab") -> list[list[str]]:
    graph = grimp.build_graph(package, cache_dir=None)
    modules = sorted(graph.modules)
    edges = {m: sorted(graph.find_modules_directly_imported_by(m) & graph.modules)
             for m in modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for m in modules:
        if m not in index:
            visit(m)
    return groups


if __name__ == "__main__":
    for group in import_cycles(sys.argv[1] if len(sys.argv) > 1 else "stancelab"):
        print(" <-> ".join(group))
