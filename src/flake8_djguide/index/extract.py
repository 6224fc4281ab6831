"""Facts about one module, read from its ``ast`` tree, as plain JSON-able data.

Nothing here knows yet which classes are models or serializers: that needs the
whole project (bases defined in other modules) and is decided when the index is
linked (:mod:`flake8_djguide.index.project`). What is kept is what the ORM rules
may need: imports, and for every class its bases, the calls and names assigned
in its body, its ``Meta`` options and a summary of its methods.

Expressions are encoded as small tagged lists:

- ``["str", "text"]``, ``["num", 1]``, ``["bool", true]``, ``["none"]``
- ``["ref", "a.b.c"]`` a dotted name
- ``["call", func, [args...], {"kw": value}]`` where ``func`` is an encoding
- ``["attr", value, "name"]`` attribute of something that is not a dotted name
- ``["list", [items...]]`` a list or tuple display
- ``["other"]`` anything else
"""

from __future__ import annotations

import ast
from typing import Any

try:  # the C module alone: ``hashlib`` loads OpenSSL too, 3.7 MiB in every flake8 process
    from _blake2 import blake2b as blake2b
except ImportError:  # pragma: no cover - an interpreter without it
    from hashlib import blake2b as blake2b

from flake8_djguide.helpers import ast_children, ast_nodes, ast_walk
from flake8_djguide.helpers import ast_dotted_name as dotted_name
from flake8_djguide.index.functions import (
    attribute_chain,
    function_summaries,
    manager_query,
    memoised,
    peel_calls,
    prefetched_lookups,
)
from flake8_djguide.parsing import parse_quietly

Encoded = list[Any]
FORMAT = 29  # bump when the facts change shape: old cache entries are then ignored

_MAX_DEPTH = 12
#: calls and attributes of one chain encoded at most (:func:`encode`)
_MAX_SPINE = 48
#: Reads on ``self`` kept per model method (``self_reads``).
_MAX_SELF_READS = 32
_META_KEYS = frozenset(
    {
        "abstract",
        "proxy",
        "ordering",
        "default_related_name",
        "app_label",
        "model",
        "fields",
        "exclude",
        "depth",
        "base_manager_name",
        "default_manager_name",
        "extra_kwargs",
    }
)


def encode(node: ast.AST | None, depth: int = 0, spine: int = 0) -> Encoded:
    """The tagged-list encoding of an expression (see the module docstring).

    ``depth`` counts the arguments and elements entered, ``spine`` the calls and
    attributes of a chain (``Model.objects.filter(...).exclude(...)...``): a queryset
    built by a long chain keeps its head, where the model is."""
    if node is None or depth > _MAX_DEPTH or spine > _MAX_SPINE:
        return ["other"]
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, str):
            return ["str", value]
        if isinstance(value, bool):
            return ["bool", value]
        if value is None:
            return ["none"]
        if isinstance(value, (int, float)):
            return ["num", value]
        return ["other"]
    dotted = dotted_name(node)
    if dotted is not None:
        return ["ref", dotted]
    if isinstance(node, ast.Attribute):
        return ["attr", encode(node.value, depth, spine + 1), node.attr]
    if isinstance(node, ast.Call):
        args = [["star"] if isinstance(a, ast.Starred) else encode(a, depth + 1) for a in node.args]
        kwargs: dict[str, Encoded] = {}
        for keyword in node.keywords:
            if keyword.arg is None:
                kwargs["**"] = ["other"]
            else:
                kwargs[keyword.arg] = encode(keyword.value, depth + 1)
        return ["call", encode(node.func, depth, spine + 1), args, kwargs]
    if isinstance(node, (ast.List, ast.Tuple)):
        return ["list", [encode(e, depth + 1) for e in node.elts]]
    if isinstance(node, ast.Subscript):
        return ["sub", encode(node.value, depth + 1)]
    return ["other"]


def import_map(tree: ast.Module) -> tuple[dict[str, str], list[str]]:
    """``{local name: origin}`` for imports at module level, and those inside functions
    and class bodies (``from app.models import Note`` in a function, to avoid an import
    cycle) whose name nothing at module level binds and that every such import takes
    from the same origin: the name can only mean that there.

    Relative origins keep their leading dots (``..models.Product``); they are
    resolved against the module's package when the index is linked.
    """
    cached: tuple[dict[str, str], list[str]] | None = tree.__dict__.get("_djguide_imports")
    if cached is not None:
        return dict(cached[0]), list(cached[1])
    imports: dict[str, str] = {}
    stars: list[str] = []
    seen: set[int] = set()
    for node in tree.body:
        for sub in _module_level_imports(node):
            seen.add(id(sub))
            stars.extend(_add_import(sub, imports))
    local: dict[str, str | None] = {}
    for other in _nested_imports(tree):
        if id(other) not in seen:
            found: dict[str, str] = {}
            _add_import(other, found)
            for name, origin in found.items():
                local[name] = origin if local.get(name, origin) == origin else None
    added: set[str] = set()
    if local:
        bound = _module_bound(tree)
        for name, maybe in local.items():
            if maybe is not None and name not in imports and name not in bound:
                imports[name] = maybe
                added.add(name)
    tree.__dict__["_djguide_imports"] = (imports, stars)
    tree.__dict__["_djguide_function_imports"] = frozenset(added)
    return dict(imports), list(stars)


def function_imports(tree: ast.Module) -> frozenset[str]:
    """The names :func:`import_map` has from functions' imports only: each means the
    same class or module wherever the module's functions import it."""
    import_map(tree)
    found: frozenset[str] = tree.__dict__["_djguide_function_imports"]
    return found


def _nested_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement of the module, found through statement bodies only (an
    import is a statement: no expression holds one)."""
    found: list[ast.Import | ast.ImportFrom] = []
    stack: list[ast.AST] = list(tree.body)
    while stack:
        node = stack.pop()
        kind = type(node)
        if kind is ast.Import or kind is ast.ImportFrom:
            found.append(node)  # type: ignore[arg-type]
            continue
        for name in _STATEMENT_FIELDS:
            block = getattr(node, name, None)
            if block:
                stack.extend(block)
    return found


#: The fields of statements that hold statements (``handlers``: ``except`` clauses,
#: ``cases``: ``match`` cases, each with a ``body``).
_STATEMENT_FIELDS = ("body", "orelse", "finalbody", "handlers", "cases")


def _add_import(node: ast.Import | ast.ImportFrom, imports: dict[str, str]) -> list[str]:
    """Add the names an import binds to ``imports``; the star imports' modules."""
    stars: list[str] = []
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.asname:
                imports[alias.asname] = alias.name
            else:
                head = alias.name.split(".", 1)[0]
                imports[head] = head
    else:
        prefix = "." * node.level + (node.module or "")
        for alias in node.names:
            if alias.name == "*":
                stars.append(prefix)
                continue
            joiner = "" if prefix.endswith(".") else "."
            imports[alias.asname or alias.name] = f"{prefix}{joiner}{alias.name}"
    return stars


def _module_bound(tree: ast.Module) -> set[str]:
    """Names module-level statements bind other than by importing (``def``, ``class``,
    assignments, loops, ``with``)."""
    found: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found.add(node.name)
        elif not isinstance(node, (ast.Import, ast.ImportFrom)):
            for sub in ast_nodes(node):
                kind = type(sub)
                if kind is ast.Name and type(sub.ctx) is not ast.Load:  # type: ignore[attr-defined]
                    found.add(sub.id)  # type: ignore[attr-defined]
                elif (
                    kind is ast.FunctionDef or kind is ast.AsyncFunctionDef or kind is ast.ClassDef
                ):
                    found.add(sub.name)  # type: ignore[attr-defined]
    return found


def _module_level_imports(node: ast.stmt) -> list[ast.Import | ast.ImportFrom]:
    """Imports directly at module level, or inside module-level ``if``/``try`` blocks."""
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return [node]
    found: list[ast.Import | ast.ImportFrom] = []
    if isinstance(node, (ast.If, ast.Try)):
        blocks = [node.body, node.orelse]
        if isinstance(node, ast.Try):
            blocks.append(node.finalbody)
            blocks.extend(handler.body for handler in node.handlers)
        for block in blocks:
            for statement in block:
                found.extend(_module_level_imports(statement))
    return found


def _returns(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.expr]:
    """The returned expressions of ``function`` (not of nested functions or classes)."""
    found: list[ast.expr] = []
    stack: list[ast.AST] = list(function.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        if isinstance(node, ast.Return):
            found.append(node.value if node.value is not None else ast.Constant(None))
            continue
        stack.extend(ast_children(node))
    return found


def attribute_reads(function: ast.AST, parameter: str) -> list[list[str]]:
    """Attribute chains read on ``parameter`` inside ``function``.

    ``obj.author.name`` gives ``["author", "name"]``; a call at the end is kept
    as ``"name()"`` (``obj.tags.all()`` gives ``["tags", "all()"]``);
    ``getattr(obj, "page", None)`` gives ``["page"]``.
    """
    reads: list[list[str]] = []
    seen: set[int] = set()
    for node in ast_walk(function):
        if id(node) in seen or not isinstance(node, (ast.Attribute, ast.Call)):
            continue
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "getattr"
            and len(node.args) >= 2
            and isinstance(node.args[0], ast.Name)
            and node.args[0].id == parameter
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
        ):
            reads.append([node.args[1].value])  # getattr(obj, "name", None)
            continue
        chain, current = attribute_chain(node, seen)
        if isinstance(current, ast.Name) and current.id == parameter and chain:
            reads.append(chain)
    return reads


def _method_facts(
    function: ast.FunctionDef | ast.AsyncFunctionDef, wants: str
) -> dict[str, Any] | None:
    params = [a.arg for a in function.args.posonlyargs + function.args.args]
    if wants == "self":
        # a model method or property an admin column may name: what it reads on ``self``
        if len(params) != 1 or function.args.vararg or function.args.kwonlyargs:
            return None
        reads = attribute_reads(function, params[0])
        if not reads:
            return None
        facts: dict[str, Any] = {"self_reads": reads[:_MAX_SELF_READS]}
        if memoised(function):
            facts["self_query"] = "memo"
        elif manager_query(function):
            facts["self_query"] = "query"
        return facts
    if wants == "returns":
        return {"returns": _local_returns(function)}
    if wants == "reads" and is_loader(function):
        return {"loader": loader_facts(function)}
    if wants != "reads" or len(params) < 2:
        return None
    if not function.name.startswith("get_") and function.name != "to_representation":
        return None
    return {
        "reads": attribute_reads(function, params[1]),
        "opaque": _passes_name(function, params[1]),
    }


#: Words in the name of a serializer's class or static method that returns the queryset the
#: serializer needs (``prefetch_queryset``, ``setup_eager_loading``, ``optimize_queryset``).
LOADER_WORDS = ("queryset", "prefetch", "eager", "optimi", "select_related")


def is_loader(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Whether a serializer's method is a class or static method named like a queryset loader."""
    name = function.name.lower()
    if not any(word in name for word in LOADER_WORDS):
        return False
    return any(
        (dotted_name(d) or "") in ("classmethod", "staticmethod") for d in function.decorator_list
    )


_LOADING_CALLS = frozenset({"select_related", "prefetch_related"})


def loader_facts(function: ast.FunctionDef | ast.AsyncFunctionDef) -> dict[str, Any]:
    """What a serializer's queryset loader loads, read from every loading call of its body
    (whatever the branch): ``lookups`` (``["s"|"p", "a__b"]``), ``bare`` (``select_related()``),
    ``supers`` (loaders of its own class or bases it calls: ``super().x()``, ``cls.x()``),
    ``others`` (``[prefix, "OtherSerializer", "x"]``: another serializer's loader, under a
    ``Prefetch`` lookup or not), ``annotations``, ``unknown`` (``Prefetch`` lookups whose
    queryset is built elsewhere), and ``opaque`` (a loading call with
    arguments that are not literal, or the queryset passed to another function)."""
    facts: dict[str, Any] = {
        "lookups": [],
        "bare": False,
        "supers": [],
        "others": [],
        "annotations": [],
        "unknown": [],
        "opaque": not any(isinstance(n, ast.Return) and n.value for n in ast_walk(function)),
    }
    params = [a.arg for a in function.args.posonlyargs + function.args.args]
    holders = set(params) | {
        t.id
        for n in ast_walk(function)
        if isinstance(n, ast.Assign)
        for t in n.targets
        if isinstance(t, ast.Name)
    }
    _loader_calls(function, "", facts, holders)
    return facts


def _loader_calls(node: ast.AST, prefix: str, facts: dict[str, Any], holders: set[str]) -> None:
    stack: list[ast.AST] = [node] if not isinstance(node, ast.FunctionDef) else list(node.body)
    while stack:
        current = stack.pop()
        if not isinstance(current, ast.Call):
            stack.extend(ast_children(current))
            continue
        func = current.func
        name = func.attr if isinstance(func, ast.Attribute) else ""
        owner = func.value if isinstance(func, ast.Attribute) else None
        if name in _LOADING_CALLS:
            if not current.args and not current.keywords and name == "select_related":
                facts["bare"] = facts["bare"] or not prefix
            for arg in current.args:
                _loading_argument(arg, name[0], prefix, facts, holders)
            if owner is not None:
                stack.append(owner)
            continue
        elif name == "annotate" and not prefix:
            facts["annotations"].extend(k.arg for k in current.keywords if k.arg)
        elif owner is not None and any(word in name.lower() for word in LOADER_WORDS):
            receiver = dotted_name(owner)
            is_super = isinstance(owner, ast.Call) and dotted_name(owner.func) == "super"
            if (is_super or receiver in ("cls", "self")) and not prefix:
                facts["supers"].append(name)
            elif receiver is not None and receiver not in holders:
                facts["others"].append([prefix, receiver, name])
            else:
                facts["opaque"] = True
            continue
        elif _passes_holder(current, holders):
            facts["opaque"] = True
        if owner is not None:
            stack.append(owner)
        stack.extend(current.args)
        stack.extend(k.value for k in current.keywords)


#: Calls that may take the queryset (or a value from it) and leave what it loads alone.
_KEEPING_CALLS = frozenset(
    {
        "filter",
        "exclude",
        "order_by",
        "distinct",
        "all",
        "none",
        "annotate",
        "alias",
        "only",
        "defer",
        "using",
        "isinstance",
        "len",
        "getattr",
        "hasattr",
        "str",
        "int",
        "bool",
        "super",
    }
)


def _passes_holder(call: ast.Call, holders: set[str]) -> bool:
    """Whether ``call`` passes a parameter or local of the loader to a function that may
    change the queryset (``helper(queryset)``); classes (``Q(partner=partner)``) do not."""
    name = dotted_name(call.func) if not isinstance(call.func, ast.Attribute) else call.func.attr
    last = (name or "").rsplit(".", 1)[-1]
    if not last or last[0].isupper() or last in _KEEPING_CALLS:
        return False
    return any(
        isinstance(a, ast.Name) and a.id in holders
        for a in [*call.args, *(k.value for k in call.keywords)]
    )


def _loading_argument(
    arg: ast.expr, kind: str, prefix: str, facts: dict[str, Any], holders: set[str]
) -> None:
    joined = f"{prefix}__" if prefix else ""
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        facts["lookups"].append([kind, joined + arg.value])
        return
    if (
        isinstance(arg, ast.Call)
        and (dotted_name(arg.func) or "").rsplit(".", 1)[-1] == "Prefetch"
        and arg.args
        and isinstance(arg.args[0], ast.Constant)
        and isinstance(arg.args[0].value, str)
    ):
        keywords = {k.arg: k.value for k in arg.keywords}
        if "to_attr" in keywords:
            return  # the rows land elsewhere than the relation's name
        lookup = joined + arg.args[0].value
        facts["lookups"].append(["p", lookup])
        inner = keywords.get("queryset", arg.args[1] if len(arg.args) > 1 else None)
        if isinstance(inner, ast.Call):
            _loader_calls(inner, lookup, facts, holders)
        elif inner is not None:
            facts["unknown"].append(lookup)  # a queryset built elsewhere
        return
    facts["opaque"] = True


def _passes_name(function: ast.AST, name: str) -> bool:
    """Whether ``name`` is passed whole to a call (then its reads cannot all be seen)."""
    for node in ast_walk(function):
        if isinstance(node, ast.Call):
            for arg in [*node.args, *(k.value for k in node.keywords)]:
                if isinstance(arg, ast.Name) and arg.id == name:
                    return True
    return False


def _meta_facts(meta: ast.ClassDef) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    for statement in meta.body:
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target = statement.targets[0]
            value = statement.value
        elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
            target, value = statement.target, statement.value
        else:
            continue
        if not isinstance(target, ast.Name) or target.id not in _META_KEYS:
            continue
        if target.id == "extra_kwargs":
            facts[target.id] = _extra_kwargs(value)
        elif target.id in ("fields", "exclude") and isinstance(value, ast.BinOp):
            facts[target.id] = _concatenated(value)
        else:
            facts[target.id] = encode(value)
    return facts


def _concatenated(node: ast.BinOp) -> Encoded:
    """``Base.Meta.fields + ("a", "b")`` as one list whose items are the names and the
    referenced lists (``["ref", "Base.Meta.fields"]``), spliced in when the index is linked."""
    items: list[Encoded] = []
    stack: list[ast.expr] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, ast.BinOp) and isinstance(current.op, ast.Add):
            stack.extend([current.right, current.left])
        elif isinstance(current, (ast.List, ast.Tuple)):
            items.extend(encode(e) for e in current.elts)
        else:
            items.append(encode(current))
    return ["list", items]


def _extra_kwargs(node: ast.expr) -> Encoded:
    """``Meta.extra_kwargs`` as ``["list", [["list", [field, option, value]], ...]]``: the
    string-valued ``lookup_field`` option of each field."""
    entries: list[Encoded] = []
    if isinstance(node, ast.Dict):
        for key, value in zip(node.keys, node.values):
            if not isinstance(key, ast.Constant) or not isinstance(value, ast.Dict):
                continue
            for option, setting in zip(value.keys, value.values):
                if (
                    isinstance(option, ast.Constant)
                    and option.value == "lookup_field"
                    and isinstance(setting, ast.Constant)
                    and isinstance(setting.value, str)
                ):
                    entries.append(
                        [
                            "list",
                            [
                                ["str", str(key.value)],
                                ["str", option.value],
                                ["str", setting.value],
                            ],
                        ]
                    )
    return ["list", entries]


def _wanted_methods(node: ast.ClassDef) -> str:
    """Which method facts a class may need: ``returns`` for managers and querysets,
    ``reads`` for serializers (``SerializerMethodField`` methods), else nothing.

    Decided from the class's and its bases' names, to keep the index small and
    fast to build: custom managers and querysets are named like ``...Manager`` /
    ``...QuerySet`` in practice, and serializers like ``...Serializer``.
    """
    names = " ".join([node.name, *base_names(node)]).lower()
    if "manager" in names or "queryset" in names:
        return "returns"
    if "serializer" in names:
        return "reads"
    if _looks_like_model(node):
        return "self"
    return ""


def _looks_like_model(node: ast.ClassDef) -> bool:
    """Whether a class may be a model (its methods' reads on ``self`` are then kept, for
    the admin columns that name them): a base named like a model or a user, or a body
    declaring fields."""
    for base in node.bases:
        name = (dotted_name(base) or "").rsplit(".", 1)[-1].lower()
        if "model" in name or "user" in name:
            return True
    for statement in node.body:
        value = statement.value if isinstance(statement, (ast.Assign, ast.AnnAssign)) else None
        if isinstance(value, ast.Call):
            func = (dotted_name(value.func) or "").rsplit(".", 1)[-1]
            if func.endswith(("Field", "Key")):
                return True
    return False


#: Methods whose definition in a model or one of its bases (a mixin) the rules look up:
#: DJG501 suggests ``obj.update(...)`` only where it exists, and leaves tests of a model
#: that overrides ``save()`` alone.
#: Methods whose definition in a class the rules look up (``qs``/``filter_queryset``: a
#: ``django_filters`` filter set that changes the rows it is given).
TRACKED_METHODS = frozenset({"update", "save", "qs", "filter_queryset"})


def _defined_methods(node: ast.ClassDef) -> list[str]:
    return [
        statement.name
        for statement in node.body
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef))
        and statement.name in TRACKED_METHODS
    ]


#: View methods whose definition in a base view or mixin changes what a DRF view lists.
VIEW_METHODS = frozenset({"get_queryset", "get_serializer_class", "list"})


def _returns_super(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Whether the method returns ``super().<same name>(...)`` on some path."""
    return any(
        isinstance(value, ast.Call)
        and isinstance(value.func, ast.Attribute)
        and value.func.attr == function.name
        and isinstance(value.func.value, ast.Call)
        and dotted_name(value.func.value.func) == "super"
        for value in _returns(function)
    )


def _list_kind(function: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    """How a base view's ``list()`` renders: ``"super"`` (returns ``super().list()`` on some
    path), ``"renders"`` (renders ``self.get_queryset()`` with ``self.get_serializer()``
    itself, as DRF's does), or ``"own"``."""
    if _returns_super(function):
        return "super"
    called = {
        dotted_name(node.func)
        for node in ast_walk(function)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
    }
    if {"self.get_queryset", "self.get_serializer"} <= called:
        return "renders"
    return "own"


def _local_returns(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[Encoded]:
    """The encoded returns of a method, a returned local name or ``self.<attribute>``
    assigned once in the body replaced by its value (``qs = super().get_queryset()`` ...
    ``return qs.filter(...)``; ``self._cached = super().get_queryset()`` ... ``return
    self._cached``). A name assigned on several branches from other values stands for
    each of them; ``queryset |= other`` (or ``&=``) keeps what ``queryset`` loads (Django
    combines the rows into the left queryset) when every value of the name is a call chain
    on ``self``."""
    assigned: dict[str, list[ast.expr | None]] = {}
    combined: set[str] = set()
    #: values assigned by the function's own top-level statements (not on a branch)
    top = {id(s.value) for s in function.body if isinstance(s, ast.Assign)}
    for statement in ast_walk(function):
        if isinstance(statement, ast.Assign):
            for target in statement.targets:
                if isinstance(target, (ast.Name, ast.Attribute)) and dotted_name(target):
                    assigned.setdefault(dotted_name(target) or "", []).append(statement.value)
                else:
                    for name in ast_walk(target):
                        if isinstance(name, ast.Name):
                            assigned.setdefault(name.id, []).extend([None, None])
        elif (
            isinstance(statement, ast.AugAssign)
            and isinstance(statement.op, (ast.BitOr, ast.BitAnd))
            and isinstance(statement.target, ast.Name)
        ):
            combined.add(statement.target.id)
        elif isinstance(statement, (ast.AugAssign, ast.AnnAssign)):
            # not a single plain assignment: the name is left unknown
            assigned.setdefault(dotted_name(statement.target) or "", []).extend([None, None])
        elif isinstance(statement, (ast.For, ast.AsyncFor, ast.With, ast.AsyncWith, ast.NamedExpr)):
            # a loop's, ``with``'s or ``:=``'s target: the name is left unknown
            targets = (
                [item.optional_vars for item in statement.items if item.optional_vars]
                if isinstance(statement, (ast.With, ast.AsyncWith))
                else [statement.target]
            )
            for target in targets:
                for name in ast_walk(target):
                    if isinstance(name, ast.Name):
                        assigned.setdefault(name.id, []).extend([None, None])
    found: list[Encoded] = []
    for value in _returns(function):
        root: ast.expr = value
        while dotted_name(root) is None and isinstance(root, (ast.Attribute, ast.Call)):
            root = root.func if isinstance(root, ast.Call) else root.value
        text = dotted_name(root)
        key = next((k for k in assigned if text and (text == k or text.startswith(k + "."))), None)
        # ``queryset = queryset.filter(...).distinct()``: a refinement keeps what the value
        # made before it loads
        values = [v for v in assigned.get(key, []) if not _refines(v, key)] if key else []
        # ``queryset = queryset.select_related(...)``: applied to it, in order
        chains = [v for v in values if v is not None and key and _loading_chain(v, key)]
        values = [v for v in values if not any(v is c for c in chains)]
        known = key is not None and all(v is not None and not _reads_name(v, key) for v in values)
        if known and key in combined:
            known = all(v is not None and _self_chain(encode(v)) for v in values)
        if known and any(
            _loading_chain(c, key or "") == "defers" and id(c) not in top for c in chains
        ):
            known = (
                False  # ``only()``/``defer()`` on one branch: which fields are loaded is unknown
            )
        if key and values and known:
            # assigned once, or on each branch of an ``if`` from other values: the return
            # stands for each of them
            chains.sort(key=lambda c: (c.lineno, c.col_offset))
            for base in values:
                made = encode(base)
                for chain in chains:
                    made = _substitute(encode(chain), key, made)
                found.append(_substitute(encode(value), key, made))
        else:
            found.append(encode(value))
    return found


#: QuerySet methods that change what the rows load or hold (besides :data:`KEEP_METHODS`).
_LOADING_METHODS = frozenset({"select_related", "prefetch_related", "only", "defer"})


def _loading_chain(value: ast.expr, name: str) -> str:
    """``"loads"`` when ``value`` is the local ``name`` with queryset calls that keep its
    rows and change what they load (``qs.select_related("author").filter(...)``),
    ``"defers"`` when one of them is ``only()``/``defer()``, else ``""``."""
    from flake8_djguide.index.querysets import KEEP_METHODS

    root, methods = peel_calls(value, KEEP_METHODS | _LOADING_METHODS)
    if not isinstance(root, ast.Name) or root.id != name:
        return ""  # on something else, or through a call of another method
    if not any(m in _LOADING_METHODS for m in methods):
        return ""
    return "defers" if any(m in ("only", "defer") for m in methods) else "loads"


def _refines(value: ast.expr | None, name: str) -> bool:
    """Whether ``value`` is ``name`` refined by calls that keep what it loads
    (``queryset.filter(...).distinct()``)."""
    from flake8_djguide.index.querysets import KEEP_METHODS

    root, peeled = peel_calls(value, KEEP_METHODS)
    return bool(peeled) and root is not None and dotted_name(root) == name


def _reads_name(value: ast.expr, name: str) -> bool:
    """Whether ``value`` reads the local ``name`` (``qs = qs.filter(...)``)."""
    root = name.split(".", 1)[0]
    return any(isinstance(node, ast.Name) and node.id == root for node in ast_walk(value))


def _self_chain(encoded: Encoded) -> bool:
    """Whether an encoded value is a call chain on ``self`` (``self.filter(...)``,
    ``self.build_queryset(...).distinct()``)."""
    if not encoded or encoded[0] != "call":
        return False
    current = encoded
    while current and current[0] in ("call", "attr"):
        current = current[1]
    return bool(current) and current[0] == "ref" and str(current[1]).startswith("self.")


def _may_chain_on_self(value: ast.expr) -> bool:
    """Whether a returned expression may be a call chain on ``self`` (``self.filter(...)``)
    or on a local name holding one (``queryset.distinct()``, ``queryset``)."""
    if isinstance(value, ast.Name):
        return True
    if not isinstance(value, ast.Call) or not isinstance(value.func, ast.Attribute):
        return False
    node: ast.expr = value
    while isinstance(node, (ast.Call, ast.Attribute)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return isinstance(node, ast.Name) and node.id != "super"


def _self_chain_methods(node: ast.ClassDef) -> dict[str, Any]:
    """The methods of a class that is neither a manager, a queryset, a serializer nor a
    model by its name that return only call chains on ``self``: a queryset mixin's
    ``filter_for_user()`` returning ``self.filter(...)`` (a queryset class deriving from
    the mixin has them)."""
    methods: dict[str, Any] = {}
    for statement in node.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if statement.name.startswith("__") or statement.name in VIEW_METHODS:
                continue
            raw = _returns(statement)
            if not raw or not all(_may_chain_on_self(r) for r in raw):
                continue  # cheap test first: most methods return something else
            returns = _local_returns(statement)
            if returns and all(_self_chain(r) for r in returns):
                methods[statement.name] = {"returns": returns}
    return methods


def _substitute(encoded: Encoded, name: str, value: Encoded) -> Encoded:
    """``encoded`` with the local ``name`` at its root replaced by ``value``."""
    tag = encoded[0] if encoded else ""
    if tag == "ref":
        text: str = encoded[1]
        if text == name:
            return value
        if not text.startswith(name + "."):
            return encoded
        for part in text[len(name) + 1 :].split("."):
            value = ["attr", value, part]
        return value
    if tag == "call":
        return ["call", _substitute(encoded[1], name, value), encoded[2], encoded[3]]
    if tag == "attr":
        return ["attr", _substitute(encoded[1], name, value), encoded[2]]
    return encoded


def _view_facts(node: ast.ClassDef, calls: dict[str, Encoded]) -> dict[str, Any]:
    """What a base view or mixin contributes to the views deriving from it: which of
    :data:`VIEW_METHODS` it defines (``get_queryset``, ``get_serializer_class``: their
    encoded returns; ``list``: see :func:`_list_kind`), and its ``queryset =`` call."""
    defs: dict[str, Any] = {}
    for statement in node.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if statement.name in ("get_queryset", "get_serializer_class"):
                defs[statement.name] = _local_returns(statement)
            elif statement.name == "list":
                defs["list"] = _list_kind(statement)
    view: dict[str, Any] = {}
    if defs:
        view["defs"] = defs
    if "queryset" in calls:
        view["calls"] = {"queryset": calls["queryset"]}
    template = _template_facts(node)
    if template:
        view["template"] = template
    return view


#: Class attributes of a template view that choose its template and context names.
TEMPLATE_ATTRS = ("template_name", "template_name_suffix", "context_object_name")
#: Methods that compute them at run time.
TEMPLATE_METHODS = frozenset({"get_template_names", "get_context_object_name"})


def _template_facts(node: ast.ClassDef) -> dict[str, Any]:
    """What a base view or mixin sets of :data:`TEMPLATE_ATTRS` (the string, or ``None``
    when the value is not a string literal) and ``"computed": True`` when it defines one
    of :data:`TEMPLATE_METHODS`: a view deriving from it renders that template."""
    facts: dict[str, Any] = {}
    for statement in node.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if statement.name in TEMPLATE_METHODS:
                facts["computed"] = True
            continue
        if isinstance(statement, ast.Assign):
            targets = [t.id for t in statement.targets if isinstance(t, ast.Name)]
        elif isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
            if statement.value is None:
                continue
            targets = [statement.target.id]
        else:
            continue
        value = statement.value
        text = value.value if isinstance(value, ast.Constant) else None
        for target in targets:
            if target in TEMPLATE_ATTRS:
                facts[target] = text if isinstance(text, str) else None
    return facts


def base_names(node: ast.ClassDef) -> list[str]:
    """The dotted names of a class's bases (``""`` for one that is not a name).

    ``models.Manager.from_queryset(BookQuerySet)`` makes a manager class with the
    queryset class's methods: it stands for both classes, ``models.Manager`` and
    ``BookQuerySet``.
    """
    names: list[str] = []
    for base in node.bases:
        if (
            isinstance(base, ast.Call)
            and isinstance(base.func, ast.Attribute)
            and base.func.attr == "from_queryset"
            and len(base.args) == 1
            and not base.keywords
        ):
            manager, queryset = dotted_name(base.func.value), dotted_name(base.args[0])
            if manager and queryset:
                names.extend((manager, queryset))
                continue
        names.append(dotted_name(base) or "")
    return names


def class_facts(node: ast.ClassDef) -> dict[str, Any]:
    """The facts kept about one class."""
    bases = base_names(node)
    defs = _defined_methods(node)
    if not any(b and b != "object" for b in bases):
        plain: dict[str, Any] = {
            "name": node.name,
            "line": node.lineno,
            "bases": bases,
            "calls": {},
        }
        if defs:
            plain["defs"] = defs
        chains = _self_chain_methods(node)
        if chains:
            plain["methods"] = chains
        view = _view_facts(node, {})  # a mixin: ``class OwnedMixin:``
        if view:
            plain["view"] = view
        return plain
    wants = _wanted_methods(node)
    calls: dict[str, Encoded] = {}
    refs: dict[str, str] = {}
    methods: dict[str, Any] = {}
    meta: dict[str, Any] = {}
    inlines: list[str] = []
    for statement in node.body:
        if isinstance(statement, ast.Assign):
            targets = [t.id for t in statement.targets if isinstance(t, ast.Name)]
            value: ast.expr | None = statement.value
        elif isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
            targets = [statement.target.id]
            value = statement.value
        elif isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if statement.name in _INLINE_HOOKS:
                inlines.extend(_hook_inlines(statement))
            method = _method_facts(statement, wants) if wants else None
            if method is not None:
                methods[statement.name] = method
            continue
        elif isinstance(statement, ast.ClassDef) and statement.name == "Meta":
            meta = _meta_facts(statement)
            continue
        else:
            continue
        if value is None:
            continue
        if "inlines" in targets:
            inlines.extend(listed_inlines(value))
        for target in targets:
            if isinstance(value, ast.Call):
                calls[target] = encode(value)
            else:
                name = dotted_name(value)
                if name is not None:
                    refs[target] = name
    facts: dict[str, Any] = {"name": node.name, "line": node.lineno, "bases": bases, "calls": calls}
    if refs:
        facts["refs"] = refs
    if not wants and all("mixin" in b.lower() for b in bases if b and b != "object"):
        # a queryset mixin deriving from other mixins (``ZaakFilterMixin(BaseFilterMixin)``)
        methods = _self_chain_methods(node)
    if methods:
        facts["methods"] = methods
    if meta:
        facts["meta"] = meta
    if defs:
        facts["defs"] = defs
    if inlines:
        facts["inlines"] = inlines
    view = _view_facts(node, calls) if wants != "returns" else {}
    if view:
        facts["view"] = view
    return facts


#: ModelAdmin methods that choose the inlines shown
_INLINE_HOOKS = frozenset({"get_inlines", "get_inline_instances"})


def listed_inlines(value: ast.expr) -> list[str]:
    """The classes an ``inlines`` value lists: the dotted names of a list or tuple
    (``[ChoiceInline]``), also when added to or unpacking another admin's list
    (``BaseAdmin.inlines + [NoteInline]``); ``""`` for what cannot be told (a list built
    elsewhere, a comprehension, a call)."""
    if isinstance(value, (ast.List, ast.Tuple)):
        found: list[str] = []
        for element in value.elts:
            if isinstance(element, ast.Starred):
                found.extend(listed_inlines(element.value))
                continue
            found.append(dotted_name(element) or "")
        return found
    if isinstance(value, ast.BinOp) and isinstance(value.op, ast.Add):
        return [*listed_inlines(value.left), *listed_inlines(value.right)]
    name = dotted_name(value)
    if name is not None and "." in name and name.rsplit(".", 1)[-1] == "inlines":
        return []  # self.inlines, BaseAdmin.inlines: listed where it is assigned
    if (
        isinstance(value, ast.Call)
        and isinstance(value.func, ast.Attribute)
        and value.func.attr in _INLINE_HOOKS
    ):
        return []  # super().get_inlines(request, obj): the class's own list
    return [""]


def _hook_inlines(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    """The classes a ``get_inlines()``-like method returns (see :func:`listed_inlines`)."""
    found: list[str] = []
    for node in ast_walk(function):
        if isinstance(node, ast.Return) and node.value is not None:
            found.extend(listed_inlines(node.value))
        elif isinstance(node, (ast.Yield, ast.YieldFrom)):
            found.append("")
    return found or [""]


def module_facts(tree: ast.Module) -> dict[str, Any]:
    """All facts kept about one module."""
    imports, stars = import_map(tree)
    classes = []
    aliases: dict[str, Encoded] = {}
    auth_user_model: str | None = None
    inlines: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            classes.append(class_facts(node))
        elif (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Call)
            and (dotted_name(node.value.func) or "").rsplit(".", 1)[-1]
            in ("get_user_model", "get_model")
        ):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    aliases[target.id] = encode(node.value)
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            # admin.site.register(Model, inlines=[...]) builds an admin listing them
            for keyword in node.value.keywords:
                if keyword.arg == "inlines":
                    inlines.extend(listed_inlines(keyword.value))
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            for target in node.targets:
                if (
                    isinstance(target, ast.Name)
                    and target.id == "AUTH_USER_MODEL"
                    and isinstance(node.value.value, str)
                ):
                    auth_user_model = node.value.value
    facts: dict[str, Any] = {"imports": imports, "classes": classes}
    if stars:
        facts["stars"] = stars
    if aliases:
        facts["aliases"] = aliases
    if auth_user_model:
        facts["auth_user_model"] = auth_user_model
    if inlines:
        facts["inlines"] = inlines
    return facts


_BOM = b"\xef\xbb\xbf"


def source_digest(data: bytes) -> str:
    """A digest of a module's text as flake8 reads it: without a UTF-8 byte order mark,
    every newline a ``\\n`` (:func:`text_digest` of a checked file's text is the same
    when the file is unchanged). For a file in another encoding the two differ, which
    only costs the comparison of the file's facts."""
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return blake2b(data, digest_size=16).hexdigest()


def text_digest(text: str) -> str:
    """:func:`source_digest` of a checked file's text (flake8's lines joined)."""
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: never the text of a file on disk
        return ""
    return source_digest(data)


def needs_parse(data: bytes, package: bool = False) -> bool:
    """Whether a file's text may hold anything the index keeps: a class, AUTH_USER_MODEL, a
    ``get_user_model()`` alias, or (in a package's ``__init__.py``) re-exports."""
    if package:
        return b"import" in data or b"class " in data
    return (
        b"class " in data or b"AUTH_USER_MODEL" in data or (b"get_" in data and b"model(" in data)
    )


def source_facts(data: bytes, package: bool = False) -> dict[str, Any]:
    """The facts of a module given as bytes; empty facts when it does not parse.

    Beside :func:`module_facts`, ``functions``: the summaries of its functions
    (:mod:`flake8_djguide.index.functions`), kept only in the index (a checked file's
    own functions are summarised from its tree when a rule needs one)."""
    classes = needs_parse(data, package)
    if not classes and b"def " not in data:
        return {"imports": {}, "classes": []}
    whole = True  # parsed as a whole (not recovered in parts)
    try:
        tree = parse_quietly(data)
    except SyntaxError:
        whole = False
        # a module being edited, or still in Python 2: keep the classes and functions that
        # parse (a module of functions only is left out: its summaries are not worth up to
        # twenty more parses)
        from flake8_djguide.index.recover import recovered_tree

        recovered = recovered_tree(data) if classes else None
        if recovered is None:
            return {"imports": {}, "classes": []}
        tree = recovered
    except (ValueError, RecursionError, MemoryError):
        return {"imports": {}, "classes": []}
    facts = module_facts(tree) if classes else {"imports": {}, "classes": []}
    if classes and whole:
        # the facts are module_facts() of this very text: a checked file with the same
        # text has the same facts (see flake8_djguide.index.get_index)
        facts["src"] = source_digest(data)
    summaries = function_summaries(tree)
    if summaries:
        facts["functions"] = summaries
    if b"prefetch_related" in data:
        prefetches = prefetched_lookups(tree)
        if prefetches:
            facts["prefetches"] = prefetches
    if (b"objects." in data or b"_default_manager." in data) and (
        b"template" in data or b"render" in data
    ):
        called = manager_calls(tree)
        if called:
            facts["mcalls"] = called
    return facts


#: Manager and QuerySet methods of Django: not a project's own.
_DJANGO_QUERYSET_API = frozenset(
    {
        "all", "filter", "exclude", "order_by", "annotate", "alias", "distinct", "reverse",
        "using", "select_for_update", "extra", "none", "complex_filter", "select_related",
        "prefetch_related", "only", "defer", "values", "values_list", "get", "first", "last",
        "latest", "earliest", "count", "exists", "aggregate", "in_bulk", "create",
        "get_or_create", "update_or_create", "update", "delete", "contains", "iterator",
        "raw", "bulk_create", "bulk_update", "dates", "datetimes", "union", "intersection",
        "difference", "get_queryset", "explain", "as_manager", "from_queryset",
    }
)  # fmt: skip


def manager_calls(tree: ast.Module) -> list[str]:
    """The methods a module calls on a model's manager that Django does not define
    (``Topic.objects.for_forum(...)``): the project's own manager/QuerySet methods whose
    rows the module may hand to a template."""
    from flake8_djguide.index.functions import MANAGERS

    found: set[str] = set()
    for node in ast_walk(tree, operators=False):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Attribute)
            and node.func.value.attr in MANAGERS
            and node.func.attr not in _DJANGO_QUERYSET_API
        ):
            found.add(node.func.attr)
    return sorted(found)
