"""Triggers of the template analysis (:mod:`flake8_djguide.orm.templates`), on flake8's
``ast`` tree: a Django render call whose template the project holds, and the statements
of a ``ListView``/``DetailView`` subclass. Kept apart from the analysis so that loading
the rules costs no import of it.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from flake8_djguide.helpers import ast_dotted_name

if TYPE_CHECKING:
    from flake8_djguide.context import FileContext
    from flake8_djguide.index.project import Index
    from flake8_djguide.templates.loader import Templates

#: Function views' render calls: the position of the template name and of the context.
RENDER_CALLS = {
    "render": (1, 2),
    "render_to_response": (0, 1),
    "render_to_string": (0, 1),
    "TemplateResponse": (1, 2),
    "SimpleTemplateResponse": (0, 1),
}
_LIST_BASES = frozenset(
    {
        "django.views.generic.ListView",
        "django.views.generic.list.ListView",
        "django.views.generic.list.BaseListView",
        "django.views.generic.list.MultipleObjectTemplateResponseMixin",
    }
)
_DETAIL_BASES = frozenset(
    {
        "django.views.generic.DetailView",
        "django.views.generic.detail.DetailView",
        "django.views.generic.detail.BaseDetailView",
        "django.views.generic.detail.SingleObjectTemplateResponseMixin",
    }
)


#: Packages whose classes are no template view of the project's (nor lead to one).
_LIBRARIES = ("django.", "rest_framework.", "typing.", "abc.", "enum.", "collections.")


def project_templates(ctx: FileContext) -> Templates | None:
    """The checked project's templates (read with its model index), if any."""
    cached = ctx.__dict__.get("_djguide_templates", False)
    if cached is not False:
        return cached  # type: ignore[no-any-return]
    from flake8_djguide.index import _inside, project_index

    found: Templates | None = None
    root = ctx.project_root
    if root is not None and root.is_dir() and _inside(ctx.filename, root):
        found = project_index(ctx.settings, root).templates
        if found is not None and not found.by_name:
            found = None
    ctx.__dict__["_djguide_templates"] = found
    return found


def _render_name(func: ast.expr, ctx: FileContext) -> str | None:
    if not isinstance(func, ast.Name) or func.id not in RENDER_CALLS:
        return None
    origin = ctx.info.imports.get(func.id, "")
    return func.id if origin.startswith("django.") else None


def _ast_template_names(node: ast.expr | None) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, (ast.List, ast.Tuple)):
        return [
            e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)
        ]
    return []


def render_trigger(node: ast.Call, ctx: FileContext) -> bool:
    """A Django render call with a literal template name the project holds."""
    name = _render_name(node.func, ctx)
    if name is None:
        return False
    position = RENDER_CALLS[name][0]
    argument = node.args[position] if len(node.args) > position else None
    for keyword in node.keywords:
        if keyword.arg == "template_name":
            argument = keyword.value
    if isinstance(argument, ast.Name):
        return project_templates(ctx) is not None
    names = _ast_template_names(argument)
    templates = project_templates(ctx) if names else None
    return templates is not None and any(templates.find(n) is not None for n in names)


def view_trigger(node: ast.AST, ctx: FileContext) -> bool:
    """A statement of the body of a ``ListView``/``DetailView`` subclass whose template the
    project holds, or of one of its methods (the context may come from any of them)."""
    chain = ctx.trigger_chain
    if not chain:
        return False
    owner = chain[-1]
    if isinstance(owner, (ast.FunctionDef, ast.AsyncFunctionDef)) and len(chain) >= 2:
        owner = chain[-2]
    if not isinstance(owner, ast.ClassDef):
        return False
    cache: dict[int, bool] = ctx.__dict__.setdefault("_djguide_template_views", {})
    found = cache.get(id(owner))
    if found is None:
        found = _template_view(owner, ctx)
        cache[id(owner)] = found
    return found


def _template_view(cls: ast.ClassDef, ctx: FileContext, heirs: bool = True) -> bool:
    # the templates last: a run on one file reads them only when it holds a template view
    return _may_render(cls, ctx, heirs) and project_templates(ctx) is not None


def _may_render(cls: ast.ClassDef, ctx: FileContext, heirs: bool) -> bool:
    """``cls`` is a list or detail view, or makes the rows of one (see :func:`view_trigger`)."""
    if heirs and (_lists_for_heir(cls, ctx) or _feeds_templates(cls, ctx)):
        return True
    if not cls.bases:
        return False
    bases = [n for n in (ast_dotted_name(b) for b in cls.bases) if n]
    known = known_kind(bases, ctx)
    if known is not None:
        return bool(known)
    from flake8_djguide.index import get_index

    file_index = get_index(ctx)
    return (
        generic_kind(file_index.index, file_index.module, bases, f"{file_index.module}.{cls.name}")
        is not None
    )


def _feeds_templates(cls: ast.ClassDef, ctx: FileContext) -> bool:
    """``cls`` is a manager or QuerySet class of the project with a method that a module
    rendering templates calls on a model's manager (``Topic.objects.for_forum(...)``)."""
    from flake8_djguide.index import get_index

    file_index = get_index(ctx)
    index = file_index.index
    if not index.manager_callers:
        return False
    if f"{file_index.module}.{cls.name}" not in index.queryset_models:
        return False
    return any(
        isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)) and s.name in index.manager_callers
        for s in cls.body
    )


def _lists_for_heir(cls: ast.ClassDef, ctx: FileContext) -> bool:
    """``cls`` defines ``get_queryset()`` and a template view of the file derives from it
    without its own (the rows that view lists are made here)."""
    tree = ctx.tree
    if not isinstance(tree, ast.Module) or not any(
        isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)) and s.name == "get_queryset"
        for s in cls.body
    ):
        return False
    for node in tree.body:
        if (
            isinstance(node, ast.ClassDef)
            and node is not cls
            and any(isinstance(b, ast.Name) and b.id == cls.name for b in node.bases)
            and not any(
                isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)) and s.name == "get_queryset"
                for s in node.body
            )
            and _template_view(node, ctx, heirs=False)
        ):
            return True
    return False


def known_kind(bases: list[str], ctx: FileContext) -> str | None:
    """Through the file's imports alone: ``"list"``/``"detail"`` for a direct subclass of
    Django's ``ListView``/``DetailView``, ``""`` for a class whose bases are all
    library classes (Django's, DRF's: no template view of the project), ``None`` when a
    base is a project class (the index must tell)."""
    imports = ctx.info.imports
    project_base = False
    for base in bases:
        head, _, rest = base.partition(".")
        origin = imports.get(head)
        if origin is None:
            project_base = True  # defined in this file, or a star import
            continue
        qualified = f"{origin}.{rest}" if rest else origin
        if qualified in _LIST_BASES:
            return "list"
        if qualified in _DETAIL_BASES:
            return "detail"
        if not qualified.startswith(_LIBRARIES):
            project_base = True
    return None if project_base else ""


def generic_kind(index: Index, module: str, bases: list[str], own: str) -> str | None:
    """``"list"``/``"detail"`` for a class deriving from Django's ``ListView``/``DetailView``."""
    stack = [index.resolve(module, b) for b in bases]
    seen: set[str] = set()
    while stack:
        name = stack.pop()
        if name in seen or len(seen) > 50:
            continue
        seen.add(name)
        if name in _LIST_BASES:
            return "list"
        if name in _DETAIL_BASES:
            return "detail"
        entry = index.classes.get(name)
        if entry is not None and name != own:
            stack.extend(index.resolve(entry[0], b) for b in entry[1].get("bases", ()) if b)
    return None
