"""Runs inside a grading kernel: undoes a submission's monkeypatching before every test cell.

`install()` records, before any student code runs, every attribute of the modules and classes
the tests rely on (builtins, math, torch and its main sub-packages, their classes). The grader
rewrites each test cell into a call to `run_test`, which puts those attributes back and runs the
cell's code with pristine builtins, so a submission that replaced `torch.allclose`, patched
`nn.Module.__call__`, added `Tensor.__eq__` or defined its own `isinstance` is tested by the
real ones. This module imports nothing from coursekit: it must load in a bare kernel.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import importlib
import sys
import types

NAME = "course_guard"
MODULES = ("math", "copy", "io", "os", "os.path", "tempfile", "warnings", "collections",
           "functools", "numpy", "torch", "torch.nn", "torch.nn.functional", "torch.nn.init",
           "torch.nn.utils", "torch.nn.modules.module", "torch.testing", "torch.optim",
           "torch.optim.lr_scheduler", "torch.utils.data", "torch.autograd", "torch.linalg",
           "torch.serialization", "torch.random")
# Names IPython itself rebinds in builtins while a cell runs (and the displayhook's `_`).
IPYTHON_BUILTINS = frozenset({"_", "__", "___", "exit", "quit", "get_ipython", "display",
                              "__IPYTHON__", "__IPYTHON__active", "help", "input"})
_MISSING = object()


class Guard:
    """A snapshot of the namespaces tests rely on, and the means to restore it."""

    def __init__(self) -> None:
        """Record builtins, the modules in MODULES and every torch class they export."""
        settle_torch()
        self.builtins = {k: v for k, v in vars(builtins).items() if k not in IPYTHON_BUILTINS}
        self.modules = {name: (mod, dict(vars(mod))) for name in MODULES
                        if (mod := _import(name)) is not None}
        self.classes = {cls: dict(vars(cls)) for cls in _classes(self.modules.values())}

    def restore(self) -> list[str]:
        """Put every recorded attribute back; returns the names that had been changed."""
        changed = _restore_into(vars(builtins), self.builtins, "builtins")
        for name, (mod, saved) in self.modules.items():
            if sys.modules.get(name) is not mod:
                sys.modules[name] = mod
                changed.append(f"sys.modules[{name!r}]")
            changed += _restore_into(vars(mod), saved, name)
        for cls, saved in self.classes.items():
            changed += _restore_class(cls, saved)
        return changed

    def run_test(self, user_ns: dict, source: str) -> None:
        """Restore, then run a test cell's code with the student's names and real builtins."""
        changed = self.restore()
        if changed:
            shown = ", ".join(changed[:6]) + (" ..." if len(changed) > 6 else "")
            print(f"[grader] restored {len(changed)} attribute(s) the submission had replaced: "
                  f"{shown}")
        user_ns["__builtins__"] = builtins
        shadows = {k for k in user_ns if k in self.builtins and not k.startswith("__")}
        user_ns[BUILTINS_ALIAS] = builtins
        try:
            exec(compile(real_builtins_in(source, shadows), "<test cell>", "exec"), user_ns)
        finally:
            user_ns.pop(BUILTINS_ALIAS, None)


BUILTINS_ALIAS = "__course_guard_builtins__"


class _RealBuiltins(ast.NodeTransformer):
    """Rewrite reads of the given names into reads of the builtins module's attributes."""

    def __init__(self, names: set[str]) -> None:
        self.names = names

    def visit_Name(self, node: ast.Name):
        if isinstance(node.ctx, ast.Load) and node.id in self.names:
            alias = ast.Name(id=BUILTINS_ALIAS, ctx=ast.Load())
            return ast.copy_location(ast.Attribute(value=alias, attr=node.id, ctx=ast.Load()),
                                     node)
        return node


def real_builtins_in(source: str, shadows: set[str]) -> ast.Module:
    """A test's code in which the builtins the student shadowed mean the real ones.

    The test runs in the student's own namespace (so that what it defines lives in __main__,
    as pickling needs), and the student's functions still find the student's helpers (a
    `filter` of their own); only the test's own reads of such names are redirected. A name
    the test assigns itself is left alone.
    """
    tree = ast.parse(source)
    assigned = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)
                and not isinstance(n.ctx, ast.Load)}
    assigned |= {n.name for n in ast.walk(tree)
                 if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    tree = _RealBuiltins(shadows - assigned).visit(tree)
    return ast.fix_missing_locations(tree)


def settle_torch() -> None:
    """Create one optimizer: that imports torch._dynamo, which wraps some torch functions
    (torch.manual_seed among them). The snapshot must see them wrapped, as tests will."""
    torch = _import("torch")
    if torch is not None:
        torch.optim.SGD(torch.nn.Linear(1, 1).parameters(), lr=0.1)


def _import(name: str):
    """The module called name, or None when it is not installed."""
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def _classes(modules) -> set[type]:
    """Python-level torch classes exported by the recorded modules, with their torch bases."""
    found: set[type] = set()
    for _mod, saved in modules:
        for value in saved.values():
            if isinstance(value, type) and getattr(value, "__module__", "").startswith("torch"):
                found.update(c for c in value.__mro__ if c.__module__.startswith("torch"))
    return found


def _code(value) -> bool:
    """Whether a recorded value is behaviour (a function, class, descriptor or module).

    Only those are restored: counters, caches and flags change legitimately as torch runs.
    """
    return callable(value) or isinstance(value, (staticmethod, classmethod, property,
                                                 types.ModuleType))


def _legit(owner, name: str, current) -> bool:
    """Changes torch makes itself: an optimizer class wraps its own `step` once, for profiling."""
    return name == "step" and getattr(current, "hooked", False) and isinstance(owner, type)


def _restore_into(current: dict, saved: dict, owner: str) -> list[str]:
    """Reset the changed or deleted code entries of a module's namespace; returns their names.

    Added entries stay: importing a sub-package adds attributes, and a new name cannot change
    what an existing one does.
    """
    changed = [k for k, v in saved.items()
               if current.get(k, _MISSING) is not v and _code(v)]
    for k in changed:
        current[k] = saved[k]
    return [f"{owner}.{k}" for k in changed]


def _restore_class(cls: type, saved: dict) -> list[str]:
    """Reset a class's changed, deleted or added attributes; returns their names."""
    current = vars(cls)
    changed = [k for k, v in saved.items() if current.get(k, _MISSING) is not v and _code(v)
               and not _legit(cls, k, current.get(k))]
    added = [k for k, v in current.items() if k not in saved and _code(v)]
    for k in changed:
        _try(setattr, cls, k, saved[k])
    for k in added:
        _try(delattr, cls, k)
    return [f"{cls.__qualname__}.{k}" for k in changed + added]


def _try(action, *args) -> None:
    """Apply a setattr/delattr, ignoring the attributes a class does not let anyone change."""
    with contextlib.suppress(AttributeError, TypeError):
        action(*args)


def install() -> Guard:
    """Take the snapshot and make it reachable as sys.modules['course_guard']."""
    guard = Guard()
    sys.modules[NAME] = guard  # type: ignore[assignment]
    return guard
