"""Tests (DJG5xx), from guide 004.

Tests change model fields with ``obj.update(...)``, build their data with factories
and pytest fixtures, and test and management-command directories are not packages.
"""

from __future__ import annotations

import ast
import functools
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Union

from flake8_djguide.context import matches, posix_path
from flake8_djguide.helpers import ast_dotted_name, dotted_name
from flake8_djguide.rule import Invalid, Rule, Valid

if TYPE_CHECKING:
    import libcst as cst

    from flake8_djguide.context import FileContext
    from flake8_djguide.index.project import Model
else:
    from flake8_djguide._lazy import cst

TEST_PATH = "blog/tests/test_posts.py"


class _TestRule(Rule):
    """Shared context: test code only."""

    @classmethod
    def applies_to(cls, ctx: FileContext) -> bool:
        """Only test code (never migrations)."""
        return ctx.is_test and not ctx.is_migration


def _last(name: str | None) -> str:
    return (name or "").rsplit(".", 1)[-1]


# -- DJG501 -------------------------------------------------------------------------------

#: Objects whose ``save()`` is not a model save: forms, serializers, sessions.
_NOT_MODELS = ("form", "formset", "serializer", "session")
#: Setting these and saving makes a copy (an INSERT), not an update.
_PRIMARY_KEYS = frozenset({"pk", "id"})


@dataclass
class _Assignment:
    attr: str
    value: cst.BaseExpression
    index: int  # position of the statement in the block
    line: cst.SimpleStatementLine | None  # the statement's line when it is alone on it
    plain: bool  # ``obj.attr = value`` with one target


@dataclass
class _State:
    """What happened to one object in a block since its last ``save()``."""

    assignments: list[_Assignment] = field(default_factory=list)
    deep: set[str] = field(default_factory=set)  # ``obj.a.b = ...``: the ``a`` parts
    dirty: bool = False  # a method was called on it, or a nested block mentioned it


@dataclass
class _Block:
    """The scan of one block: per-object states and the nested statements met so far."""

    node: cst.IndentedBlock | None  # None: a one-line suite (no fix there)
    states: dict[str, _State] = field(default_factory=dict)
    unsaved: set[str] = field(default_factory=set)
    #: index of the last save, refresh or rebinding of each object
    resets: dict[str, int] = field(default_factory=dict)
    #: compound statements (``with``, ``if``, ``for``, ...) with their index
    compounds: list[tuple[int, cst.CSTNode]] = field(default_factory=list)

    def reset(self, obj: str, index: int) -> None:
        """Forget what happened to ``obj`` (saved, refreshed or rebound at ``index``)."""
        self.states.pop(obj, None)
        self.resets[obj] = index

    def last_mention(self, obj: str, index: int) -> int | None:
        """The index of the last compound statement before ``index`` (since ``obj`` was
        last reset) that mentions ``obj``."""
        since = self.resets.get(obj, -1)
        for position, statement in reversed(self.compounds):
            if position <= since:
                break
            if position < index and _mentions(statement, obj):
                return position
        return None


Body = Sequence[Union["cst.BaseStatement", "cst.BaseSmallStatement"]]


def _is_unsaved_instance(value: cst.BaseExpression | None) -> bool:
    """``Post(...)`` or ``PostFactory.build()``: an instance not in the database yet."""
    if not isinstance(value, cst.Call):
        return False
    name = _last(dotted_name(value.func))
    if name in ("build", "build_batch"):
        return True
    return name[:1].isupper() and not name.endswith("Factory")


def _called_method(statement: cst.BaseSmallStatement) -> tuple[str, str, cst.Call] | None:
    """``(object, method, call)`` for a statement that is a call ``obj.method(...)``."""
    if not isinstance(statement, cst.Expr) or not isinstance(statement.value, cst.Call):
        return None
    call = statement.value
    if not isinstance(call.func, cst.Attribute):
        return None
    target = dotted_name(call.func.value)
    if target is None:
        return None
    return target, call.func.attr.value, call


def _reads_assigned(value: cst.CSTNode, obj: str, assigned: set[str]) -> bool:
    """Whether ``value`` reads ``obj`` itself or one of its ``assigned`` attributes."""
    from flake8_djguide.walker import iter_children

    stack: list[cst.CSTNode] = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Attribute) and dotted_name(node.value) == obj:
            if node.attr.value in assigned:
                return True
            continue
        if isinstance(node, (cst.Name, cst.Attribute)) and dotted_name(node) == obj:
            return bool(assigned)
        stack.extend(iter_children(node))
    return False


def _mentions(node: cst.CSTNode, obj: str) -> bool:
    from flake8_djguide.walker import iter_children

    prefix = obj + "."
    stack: list[cst.CSTNode] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, (cst.Name, cst.Attribute)):
            name = dotted_name(current)
            if name is not None and (name == obj or name.startswith(prefix)):
                return True
        stack.extend(iter_children(current))
    return False


def _has_comment(line: cst.SimpleStatementLine, keep_leading: bool) -> bool:
    if line.trailing_whitespace.comment is not None:
        return True
    return not keep_leading and any(empty.comment is not None for empty in line.leading_lines)


class SaveInsteadOfUpdate(_TestRule):
    """Checks test code for attribute assignments followed by `save()` of the same object."""

    CODE = "DJG501"
    NAME = "save-instead-of-update"
    MESSAGE = "`{obj}.save()` after setting {attrs}; use `{obj}.update({arguments})`"
    FILTER_MESSAGE = (
        "`{obj}.save()` after setting {attrs}; use "
        "`{model}.{manager}.filter(pk={obj}.pk).update({arguments})`{refresh}"
    )
    UNKNOWN_MESSAGE = (
        "`{obj}.save()` after setting {attrs}; use "
        "`Model.objects.filter(pk={obj}.pk).update({arguments})` with the model of `{obj}`"
        "{refresh}"
    )
    RATIONALE = (
        "Setting attributes one by one and then calling `save()` spreads one change over "
        "several lines, saves every field (overwriting concurrent changes made by the code "
        "under test) and is easy to get half right (a forgotten `save()`, a wrong "
        "`update_fields`). The team's models provide `update(**kwargs)`, which sets the "
        "fields and saves exactly them in one call; on models without it, one queryset "
        "`update()` by primary key changes exactly those columns. Opt-in: on real projects "
        "whose models do not follow the team's `update()` convention, a hand-read sample "
        "found none of 22 findings worth changing (19 debatable, 3 wrong): the remedy often "
        "does not exist there (`obj.update()` is not a Django method, and for an object of "
        "unknown model the filter form can only name a placeholder `Model`), and a test "
        "that sets fields and saves usually tests the saving (signals, `save()` overrides, "
        "`auto_now`) rather than merely preparing data. Teams whose models provide "
        "`update()` select it with its full code (`--extend-select=DJG501`)."
    )
    GUIDE = (
        "004: Tests: Use Model.update() for changing model properties in the test code. I.e. "
        "instead of `object.property = 'test' \\n object.save()` use "
        "`object.update(property='test')`."
    )
    FIX = "unsafe"
    OPT_IN = True
    NOTES = (
        "Opt-in (see the rationale: measured precision on projects without the team's "
        "`update()` convention). The team's models provide `update(**kwargs)` through a mixin on their base model, "
        "for example:\n\n"
        "```python\n"
        "class UpdateMixin:\n"
        "    def update(self, **kwargs: Any) -> None:\n"
        '        """Set the given fields and save only them."""\n'
        "        for name, value in kwargs.items():\n"
        "            setattr(self, name, value)\n"
        "        self.save(update_fields=list(kwargs))\n\n\n"
        "class BaseModel(UpdateMixin, models.Model):\n"
        "    class Meta:\n"
        "        abstract = True\n"
        "```\n\n"
        "The assignments and the `save()` must be statements of the same block (the body of "
        "a function, `with`, `for`, ...); a `save()`, `update()` or `refresh_from_db()` of "
        "that object or a reassignment of it starts over, and only the assignments after the "
        "last nested block (`with`, `if`, ...) that mentions the object count. Objects are plain names and attribute chains (`post`, "
        "`self.post`, `cls.user.profile`). Left alone: `form.save()`, `serializer.save()`, "
        "`formset.save()` and `session.save()` (also `*_form`, `*_serializer`, ...); objects "
        "assigned an unsaved instance earlier in the block (`post = Post(...)`, "
        "`PostFactory.build()`), whose `save()` inserts; setting `pk` or `id` (a copy); "
        "`asave()` (no async counterpart is assumed); statements at module level. The fix "
        "is offered only when the assignments (one target each) and the `save()` are "
        "consecutive lines with no comments in between, the `save()` has no argument other "
        "than `update_fields` (which is dropped), no value reads an attribute assigned before "
        "it, and since the object's last save no method of it was called and no nested "
        "block mentioned it (`set_password()` makes changes that `update()` may not save). "
        "\n\nThe remedy must exist. The object's model is found from the test's own code "
        "(read from the `ast` tree, never by importing): an assignment in the function "
        "(`Post.objects.create(...)`, `.get(...)`, `.first()`, `get_or_create(...)[0]`, "
        "`PostFactory(...)`, `baker.make(Post)`, `get_object_or_404(Post, ...)`), `self.x`/"
        "`cls.x` set in any method of the test class (`setUp`, `setUpTestData`), what a "
        "helper function of the module or helper method of the class returns "
        "(`make_user()`, `self.make_article()`), a pytest "
        "fixture of the same module, a parameter named after a model of the project "
        "(`blog_post` for the one model `BlogPost`), and single relations from there "
        "(`self.user.profile`). When the model index shows the model or one of its bases "
        "(a mixin) defines `update()`, the remedy and the fix are `obj.update(...)`. "
        "Otherwise they are `Model.objects.filter(pk=obj.pk).update(...)` (`_base_manager` "
        "for a model whose managers do not include `objects`), followed by "
        "`obj.refresh_from_db()` when the object is read afterwards (always for `self.x`/"
        "`cls.x`, which outlive the method, and in nested blocks); the fix is offered only "
        "when a name for the model class is in scope in the test module. When the model "
        "cannot be found: if every concrete model of the project defines `update()` (the "
        "team's convention holds), `obj.update(...)` as before; else the finding names the "
        "filter form with a placeholder `Model` and has no fix. Left alone as tests whose "
        "subject is `save()` itself: objects whose model (or a project base) overrides "
        "`save()`, test modules, classes or functions whose name mentions signals "
        "(`test_signals.py`, `test_post_save_signal`, `SignalTests`), and test classes or "
        "functions named after saving (`test_slug_is_kept_on_save`, "
        "`test_not_emailed_when_saved`, `TestSaving`). Django's own "
        "`AbstractBaseUser.save()` does not count as an override. The fix is unsafe: a "
        "queryset `update()` neither calls `save()` nor sends signals nor touches "
        "`auto_now` fields."
    )
    VALID = [
        Valid(
            "def test_publish(post):\n"
            '    post.update(status="published")\n'
            '    assert post.status == "published"\n',
            path=TEST_PATH,
        ),
        Valid(
            "def test_comment_form(post):\n"
            '    form = CommentForm(data={"body": "Nice"})\n'
            "    form.instance.post = post\n"
            "    form.save()\n",
            path=TEST_PATH,
        ),
        Valid(
            "def test_draft():\n"
            '    post = Post(title="Draft")\n'
            '    post.slug = "draft"\n'
            "    post.save()\n",
            path=TEST_PATH,
        ),
        Valid('def publish(post):\n    post.status = "published"\n    post.save()\n'),
        Valid(
            "def test_post_save_signal_updates_search_index(post):\n"
            '    post.title = "Indexed"\n'
            "    post.save()\n",
            path=TEST_PATH,
        ),
    ]
    INVALID = [
        Invalid(
            "from blog.models import Post\n\n\n"
            "def test_unpublished_post_is_hidden():\n"
            '    post = Post.objects.create(title="Hello", is_published=True)\n'
            "    post.is_published = False\n"
            '    post.save(update_fields=["is_published"])\n'
            "    assert not Post.objects.published().exists()\n",
            7,
            4,
            path=TEST_PATH,
            expected="from blog.models import Post\n\n\n"
            "def test_unpublished_post_is_hidden():\n"
            '    post = Post.objects.create(title="Hello", is_published=True)\n'
            "    Post.objects.filter(pk=post.pk).update(is_published=False)\n"
            "    assert not Post.objects.published().exists()\n",
        ),
        Invalid(
            "from blog.models import Post\n\n\n"
            "class PostTests(TestCase):\n"
            "    @classmethod\n"
            "    def setUpTestData(cls):\n"
            '        cls.post = Post.objects.create(title="Old")\n\n'
            "    def test_title(self):\n"
            '        self.post.title = "New title"\n'
            '        self.post.status = "draft"\n'
            "        self.post.save()\n",
            12,
            8,
            path=TEST_PATH,
            expected="from blog.models import Post\n\n\n"
            "class PostTests(TestCase):\n"
            "    @classmethod\n"
            "    def setUpTestData(cls):\n"
            '        cls.post = Post.objects.create(title="Old")\n\n'
            "    def test_title(self):\n"
            '        Post.objects.filter(pk=self.post.pk).update(title="New title", status="draft")\n'
            "        self.post.refresh_from_db()\n",
        ),
    ]
    TEXT_HINTS = ("save",)
    AST_TRIGGERS = {
        ast.Call: lambda node, ctx: (
            isinstance(node.func, ast.Attribute) and node.func.attr == "save"
        )
    }
    # Looks only at the trigger node and its enclosing statements: other bodies may be left out.
    TRIGGER_SCOPE = "function"

    def __init__(self, ctx: FileContext) -> None:
        super().__init__(ctx)
        self.functions: list[cst.FunctionDef] = []
        self.classes: list[cst.ClassDef] = []
        self.module_about_saving = "signal" in ctx.basename.lower()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        """Enter a function (its name and body tell what a test is about)."""
        self.functions.append(node)

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        """Leave a function."""
        self.functions.pop()

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        """Enter a class (``self.x`` is set in its methods)."""
        self.classes.append(node)

    def leave_ClassDef(self, node: cst.ClassDef) -> None:
        """Leave a class."""
        self.classes.pop()

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        """Scan a block's statements."""
        self._scan(node.body, node)

    def visit_SimpleStatementSuite(self, node: cst.SimpleStatementSuite) -> None:
        """Scan a one-line block (``if x: post.a = 1; post.save()``); no fix there."""
        self._scan(node.body, None)

    def _scan(self, body: Body, block: cst.IndentedBlock | None) -> None:
        block_state = _Block(block)
        for index, statement in enumerate(body):
            if isinstance(statement, cst.SimpleStatementLine):
                line = statement if len(statement.body) == 1 else None
                for small in statement.body:
                    self._small(small, index, line, block_state)
            elif isinstance(statement, cst.BaseSmallStatement):
                self._small(statement, index, None, block_state)
            else:
                block_state.compounds.append((index, statement))

    def _small(
        self,
        small: cst.BaseSmallStatement,
        index: int,
        line: cst.SimpleStatementLine | None,
        block: _Block,
    ) -> None:
        targets: list[cst.BaseExpression] = []
        value: cst.BaseExpression | None = None
        if isinstance(small, cst.Assign):
            targets = [t.target for t in small.targets]
            value = small.value
        elif isinstance(small, cst.AnnAssign) and small.value is not None:
            targets, value = [small.target], small.value
        elif isinstance(small, cst.AugAssign):
            targets = [small.target]
        else:
            called = _called_method(small)
            if called is not None:
                self._call(called, index, line, block)
            return
        plain = isinstance(small, cst.Assign) and len(targets) == 1
        states = block.states
        for target in targets:
            name = dotted_name(target)
            if name is None:
                continue  # tuple targets, subscripts: not followed
            prefix = name + "."
            for stale in [o for o in states if o == name or o.startswith(prefix)]:
                block.reset(stale, index)
            block.resets[name] = index
            unsaved = block.unsaved
            unsaved.difference_update([o for o in unsaved if o == name or o.startswith(prefix)])
            if isinstance(small, cst.Assign) and _is_unsaved_instance(value):
                unsaved.add(name)
            if not isinstance(target, cst.Attribute):
                continue
            obj = dotted_name(target.value)
            if obj is None:
                continue
            states.setdefault(obj, _State()).assignments.append(
                _Assignment(target.attr.value, value or target, index, line, plain)
            )
            parts = obj.split(".")
            for size in range(1, len(parts)):
                states.setdefault(".".join(parts[:size]), _State()).deep.add(parts[size])

    def _call(
        self,
        called: tuple[str, str, cst.Call],
        index: int,
        line: cst.SimpleStatementLine | None,
        block: _Block,
    ) -> None:
        obj, method, call = called
        if method in ("refresh_from_db", "update"):
            block.reset(obj, index)  # reloaded, or changed and saved by the remedy itself
            return
        if method != "save":
            block.states.setdefault(obj, _State()).dirty = True
            return
        state = block.states.get(obj)
        cut = block.last_mention(obj, index) if state is not None and state.assignments else None
        block.reset(obj, index)
        if state is None or not state.assignments:
            return
        if cut is not None:
            # a nested block in between mentions the object: only what follows it counts
            state.assignments = [a for a in state.assignments if a.index > cut]
            state.dirty = True
            if not state.assignments:
                return
        attrs = list(dict.fromkeys(a.attr for a in state.assignments))
        if (
            _last(obj).lower().endswith(_NOT_MODELS)
            or obj in block.unsaved
            or _PRIMARY_KEYS & set(attrs)
            or "_state" in state.deep
        ):
            return
        if self._about_saving():
            return  # the test's subject is what save() triggers
        remedy = self._remedy(obj, block, index)
        if remedy is None:
            return
        fix = None
        if remedy.fixable and block.node is not None and line is not None:
            fix = _update_fix(obj, state, call, index, line, block.node, remedy)
        refresh = f" then `{obj}.refresh_from_db()`" if remedy.refresh else ""
        self.report(
            call,
            fix,
            fix_node=block.node if fix is not None else None,
            message=remedy.message,
            obj=obj,
            attrs=", ".join(f"`{attr}`" for attr in attrs),
            arguments=", ".join(f"{attr}=..." for attr in attrs),
            model=remedy.model,
            manager=remedy.manager,
            refresh=refresh,
        )

    def _about_saving(self) -> bool:
        """A test module, class or function about signals or saving (``test_signals.py``,
        ``test_post_save_signal``, ``test_slug_is_kept_when_saved``): there ``save()``
        itself is the subject."""
        if self.module_about_saving:
            return True
        names = [f.name.value for f in self.functions] + [c.name.value for c in self.classes]
        return any(
            "signal" in name.lower() or not _SAVING_WORDS.isdisjoint(_words(name)) for name in names
        )

    def _ast_scope(self) -> tuple[ast.AST | None, ast.ClassDef | None]:
        """The ``ast`` nodes of the innermost function and class (their whole bodies, also
        where the engine left a body out of the libcst parse)."""
        function = self.ast_node(self.functions[-1]) if self.functions else None
        klass = self.ast_node(self.classes[-1]) if self.classes else None
        tree = self.ctx.tree
        if tree is not None and (
            (self.classes and not isinstance(klass, ast.ClassDef))
            or (self.functions and function is None)
        ):
            wanted_class = self.classes[-1].name.value if self.classes else None
            wanted_function = self.functions[-1].name.value if self.functions else None
            # a method is looked for in its class first (test classes share method names)
            search: ast.AST = klass if isinstance(klass, ast.ClassDef) else tree
            for node in ast.walk(search):
                if isinstance(node, ast.ClassDef) and node.name == wanted_class and klass is None:
                    klass = node
                elif (
                    isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                    and node.name == wanted_function
                    and function is None
                ):
                    function = node
        return function, klass if isinstance(klass, ast.ClassDef) else None

    def _remedy(self, obj: str, block: _Block, index: int) -> _Remedy | None:
        """What to suggest for ``obj``, or ``None`` when the test is about ``save()``."""
        function, klass = self._ast_scope()
        finder = _ModelFinder(self.ctx, function, klass)
        ref = finder.find(obj)
        model = ref.model if ref is not None else None
        if model is not None and "save" in model.defines:
            return None  # the model overrides save(): the test exercises it
        if (model is not None and "update" in model.defines) or (
            ref is None and _project_models_update(finder)
        ):
            return _Remedy(self.MESSAGE, fixable=True)
        refresh = _used_after(obj, block, index, self.functions)
        if ref is None:
            return _Remedy(self.UNKNOWN_MESSAGE, fixable=False, refresh=refresh)
        manager = "objects"
        if model is not None and model.managers and "objects" not in model.managers:
            manager = "_base_manager"
        return _Remedy(
            self.FILTER_MESSAGE,
            fixable=ref.written is not None,
            model=ref.written or ref.label,
            manager=manager,
            refresh=refresh,
            receiver=f"{ref.written}.{manager}.filter(pk={obj}.pk)" if ref.written else None,
        )


# -- DJG501: which model an object is --------------------------------------------------------

#: Manager and queryset methods that return one instance.
_INSTANCE_METHODS = frozenset(
    {"create", "get", "first", "last", "earliest", "latest", "create_user", "create_superuser"}
)
#: ... and those returning ``(instance, created)``.
_PAIR_METHODS = frozenset({"get_or_create", "update_or_create"})
#: Queryset methods that keep the queryset's model.
_QUERYSET_METHODS = frozenset(
    {
        "all",
        "filter",
        "exclude",
        "order_by",
        "select_related",
        "prefetch_related",
        "only",
        "defer",
        "annotate",
        "using",
        "distinct",
        "select_for_update",
    }
)
#: Calls taking the model as their first argument (model_bakery, model_mommy, mixer,
#: django-dynamic-fixture, Django's shortcut).
_MAKERS = frozenset({"make", "prepare", "blend", "G", "get_object_or_404"})
#: Single-instance relation kinds (``obj.<relation>`` is one object).
_SINGLE = frozenset({"fk", "o2o", "rev_o2o"})


@dataclass
class _ModelRef:
    """What is known of an object's model: the index entry and a name that denotes the
    class in the checked file (for the remedy's code), when known."""

    model: Model | None
    written: str | None  # e.g. ``Post`` or ``models.Post``
    label: str  # the class name for messages

    @property
    def known(self) -> bool:
        return self.model is not None or self.written is not None


class _ModelFinder:
    """Finds the model of an object named in a test function, from the ``ast`` tree:
    assignments in the function, ``self.x``/``cls.x`` set in any method of its class,
    a pytest fixture of the module, or a parameter named after a model."""

    def __init__(
        self, ctx: FileContext, function: ast.AST | None, klass: ast.ClassDef | None
    ) -> None:
        from flake8_djguide.index import get_index

        self.ctx = ctx
        self.file_index = get_index(ctx)
        self.index = self.file_index.index
        self.module = self.file_index.module
        self.function = function
        self.klass = klass
        self.depth = 0

    # -- entry point ---------------------------------------------------------------------------

    def find(self, obj: str) -> _ModelRef | None:
        parts = obj.split(".")
        head = 2 if parts[0] in ("self", "cls") and len(parts) > 1 else 1
        ref = self._of_name(".".join(parts[:head]))
        for attr in parts[head:]:
            if ref is None:
                return None
            ref = self._relation(ref, attr)
        return ref

    # -- sources -------------------------------------------------------------------------------

    def _of_name(self, name: str) -> _ModelRef | None:
        if self.depth > 4:
            return None
        self.depth += 1
        try:
            for value in self._assigned(name):
                ref = self._of_expr(value)
                if ref is not None:
                    return ref
            if "." not in name:
                return self._of_parameter(name)
            return None
        finally:
            self.depth -= 1

    def _assigned(self, name: str) -> list[ast.expr]:
        """Values assigned to ``name`` in the function, then (``self.x``) in the class."""
        scopes: list[ast.AST] = []
        if self.function is not None:
            scopes.append(self.function)
        if "." in name and self.klass is not None:
            scopes.append(self.klass)
        attr = name.split(".", 1)[1] if "." in name else None
        found: list[ast.expr] = []
        for scope in scopes:
            for node in ast.walk(scope):
                if isinstance(node, ast.Assign):
                    targets, value = node.targets, node.value
                elif isinstance(node, ast.AnnAssign) and node.value is not None:
                    targets, value = [node.target], node.value
                else:
                    continue
                for target in targets:
                    if attr is not None:
                        if (
                            isinstance(target, ast.Attribute)
                            and target.attr == attr
                            and isinstance(target.value, ast.Name)
                            and target.value.id in ("self", "cls")
                        ):
                            found.append(value)
                    elif isinstance(target, ast.Name) and target.id == name:
                        found.append(value)
                    elif (
                        isinstance(target, ast.Tuple)
                        and target.elts
                        and isinstance(target.elts[0], ast.Name)
                        and target.elts[0].id == name
                    ):
                        found.append(ast.Subscript(value=value, slice=ast.Constant(0)))
        return found

    def _of_parameter(self, name: str) -> _ModelRef | None:
        """A pytest fixture of the module named ``name``, or a model named like it."""
        ref = self._of_returns(self._defined_function(self.ctx.tree, name))
        if ref is not None:
            return ref
        if name in ("admin_user", "django_user_model"):  # pytest-django's fixtures
            return self._of_class_name("User")
        return self._of_class_name("".join(p[:1].upper() + p[1:] for p in name.split("_")))

    @staticmethod
    def _defined_function(scope: ast.AST | None, name: str) -> ast.AST | None:
        """The function ``name`` defined directly in a module or class body."""
        for node in getattr(scope, "body", ()):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
                return node
        return None

    def _of_returns(self, function: ast.AST | None) -> _ModelRef | None:
        """The model of what a fixture or helper function returns or yields."""
        if function is None or self.depth > 4:
            return None
        saved = self.function
        self.function = function
        self.depth += 1
        try:
            for sub in ast.walk(function):
                if isinstance(sub, (ast.Return, ast.Yield)) and sub.value is not None:
                    ref = self._of_expr(sub.value)
                    if ref is not None:
                        return ref
        finally:
            self.function = saved
            self.depth -= 1
        return None

    # -- expressions ---------------------------------------------------------------------------

    def _of_expr(self, node: ast.expr) -> _ModelRef | None:
        if isinstance(node, ast.Subscript):
            inner = node.value
            if (
                isinstance(inner, ast.Call)
                and isinstance(inner.func, ast.Attribute)
                and inner.func.attr in _PAIR_METHODS
            ):
                return self._of_queryset(inner.func.value)
            return None
        if isinstance(node, ast.Name):
            return self._of_name(node.id) if node.id not in ("self", "cls") else None
        if isinstance(node, ast.Attribute):
            dotted = ast_dotted_name(node)
            if dotted is not None and dotted.split(".")[0] in ("self", "cls"):
                return self.find(dotted)
            base = self._of_expr(node.value)
            return self._relation(base, node.attr) if base is not None else None
        if not isinstance(node, ast.Call):
            return None
        func = node.func
        name = ast_dotted_name(func) or ""
        last = name.rsplit(".", 1)[-1]
        if last in _MAKERS and node.args:
            return self._of_model_argument(node.args[0])
        if last.endswith("Factory") and last != "Factory":
            return self._of_class_name(last[: -len("Factory")])
        if isinstance(func, ast.Name):  # a helper of the module: ``make_user(...)``
            return self._of_returns(self._defined_function(self.ctx.tree, func.id))
        if (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.value.id in ("self", "cls")
        ):  # a helper method of the test class: ``self.make_user(...)``
            return self._of_returns(self._defined_function(self.klass, func.attr))
        if isinstance(func, ast.Attribute):
            owner = ast_dotted_name(func.value) or ""
            if func.attr == "create" and owner.endswith("Factory"):
                return self._of_class_name(owner.rsplit(".", 1)[-1][: -len("Factory")])
            if func.attr in _INSTANCE_METHODS:
                return self._of_queryset(func.value)
        return None

    def _of_queryset(self, node: ast.expr) -> _ModelRef | None:
        """The model of a manager or queryset expression (``Post.objects.filter(...)``)."""
        while (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in _QUERYSET_METHODS
        ):
            node = node.func.value
        if not isinstance(node, ast.Attribute):
            return None
        owner = ast_dotted_name(node.value)
        if owner is not None and owner.rsplit(".", 1)[-1][:1].isupper():
            return self._of_written(owner)
        base = self._of_expr(node.value)  # a related manager: ``post.comments``
        if base is None or base.model is None:
            return None
        relation = base.model.relation(node.attr)
        if relation is None or relation.target is None:
            return None
        return self._of_qualname(relation.target)

    def _of_model_argument(self, node: ast.expr) -> _ModelRef | None:
        dotted = ast_dotted_name(node)
        if dotted is not None:
            return self._of_written(dotted)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and "." in node.value:
            label, _, name = node.value.rpartition(".")
            qualname = self.index.models_by_label.get((label, name))
            return self._of_qualname(qualname) if qualname else self._of_class_name(name)
        return None

    def _relation(self, ref: _ModelRef, attr: str) -> _ModelRef | None:
        if ref.model is None:
            return None
        relation = ref.model.relation(attr)
        if relation is None or relation.kind not in _SINGLE or relation.target is None:
            return None
        return self._of_qualname(relation.target)

    # -- names ---------------------------------------------------------------------------------

    def _of_written(self, dotted: str) -> _ModelRef:
        """A class named in the file (``Post``, ``models.Post``): usable in the remedy."""
        model = self.index.model_named(self.module, dotted)
        return _ModelRef(model, dotted, dotted.rsplit(".", 1)[-1])

    def _of_class_name(self, name: str) -> _ModelRef | None:
        qualname = self.index.unique_model(name)
        if qualname is None and name == "User":
            qualname = self.index.user_model()
        return self._of_qualname(qualname) if qualname is not None else None

    def _of_qualname(self, qualname: str) -> _ModelRef | None:
        model = self.index.models.get(qualname)
        if model is None:
            return None
        written = None
        for local, origin in self.ctx.info.imports.items():
            if origin.rsplit(".", 1)[-1] == model.name and (
                self.index.model_named(self.module, local) is model
            ):
                written = local
                break
        if (
            written is None
            and model.name in self.ctx.info.top_level_names
            and self.index.model_named(self.module, model.name) is model
        ):
            written = model.name
        return _ModelRef(model, written, model.name)


#: Words of a test's name that say ``save()`` is what it tests.
_SAVING_WORDS = frozenset({"save", "saves", "saved", "saving"})
_WORD_BOUNDARY = re.compile(r"_+|(?<=[a-z0-9])(?=[A-Z])")


def _words(name: str) -> set[str]:
    """The lower-case words of a snake_case or CamelCase name."""
    return {w.lower() for w in _WORD_BOUNDARY.split(name) if w}


@dataclass
class _Remedy:
    """The message and fix DJG501 gives for one object."""

    message: str
    fixable: bool
    model: str = ""
    manager: str = "objects"
    refresh: bool = False
    #: the code the ``update()`` is called on when it is not the object itself
    receiver: str | None = None


def _project_models_update(finder: _ModelFinder) -> bool:
    """Whether every concrete model of the project defines ``update()`` (the team's
    convention holds: an object of an unknown model then has it too)."""
    index = finder.index
    if not finder.file_index.in_project:
        return False
    own = [m for m in index.models.values() if not m.abstract and m.module in index.class_modules]
    return bool(own) and all("update" in m.defines for m in own)


def _used_after(obj: str, block: _Block, index: int, functions: list[cst.FunctionDef]) -> bool:
    """Whether the object is read after its ``save()``: ``self.x`` outlives the test
    method; a nested block's object may be read after the block."""
    if obj.split(".", 1)[0] in ("self", "cls"):
        return True
    node = block.node
    if node is None or not functions or functions[-1].body is not node:
        return True
    return any(_mentions(statement, obj) for statement in node.body[index + 1 :])


def _update_fix(
    obj: str,
    state: _State,
    call: cst.Call,
    index: int,
    save_line: cst.SimpleStatementLine,
    block: cst.IndentedBlock,
    remedy: _Remedy,
) -> Callable[[], cst.CSTNode] | None:
    """The fix when the run of assignments and the ``save()`` allow it, else ``None``."""
    assignments = state.assignments
    count = len(assignments)
    start = index - count
    if state.deep or state.dirty:
        return None
    if any(
        a.index != start + i or not a.plain or a.line is None for i, a in enumerate(assignments)
    ):
        return None
    if len({a.attr for a in assignments}) != count:
        return None
    if any(arg.keyword is None or arg.keyword.value != "update_fields" for arg in call.args):
        return None
    lines = [a.line for a in assignments if a.line is not None]
    if any(_has_comment(ln, keep_leading=i == 0) for i, ln in enumerate(lines)):
        return None
    if any(empty.comment is not None for empty in save_line.leading_lines):
        return None
    assigned: set[str] = set()
    for assignment in assignments:
        if _reads_assigned(assignment.value, obj, assigned):
            return None
        assigned.add(assignment.attr)
    return _LazyFix(block, start, index, assignments, call, save_line, remedy)


class _LazyFix:
    """The DJG501 fix, built only when called: the block with the run replaced."""

    def __init__(
        self,
        block: cst.IndentedBlock,
        start: int,
        end: int,
        assignments: list[_Assignment],
        call: cst.Call,
        save_line: cst.SimpleStatementLine,
        remedy: _Remedy,
    ) -> None:
        self.block = block
        self.start = start
        self.end = end
        self.assignments = assignments
        self.call = call
        self.save_line = save_line
        self.remedy = remedy

    def __call__(self) -> cst.CSTNode:
        """Replace the assignments and the ``save()`` by one ``obj.update(...)`` line, or
        by ``Model.objects.filter(pk=obj.pk).update(...)`` (and ``obj.refresh_from_db()``)."""
        no_space = cst.SimpleWhitespace("")
        equal = cst.AssignEqual(whitespace_before=no_space, whitespace_after=no_space)
        args = [
            cst.Arg(keyword=cst.Name(a.attr), value=a.value, equal=equal) for a in self.assignments
        ]
        assert isinstance(self.call.func, cst.Attribute)
        obj = self.call.func.value
        receiver = obj
        if self.remedy.receiver is not None:
            receiver = cst.parse_expression(self.remedy.receiver)
        update = cst.Call(func=cst.Attribute(value=receiver, attr=cst.Name("update")), args=args)
        first = self.assignments[0].line
        assert first is not None
        new_lines = [
            first.with_changes(
                body=[cst.Expr(update)], trailing_whitespace=self.save_line.trailing_whitespace
            )
        ]
        if self.remedy.receiver is not None and self.remedy.refresh:
            refresh = cst.Call(func=cst.Attribute(value=obj, attr=cst.Name("refresh_from_db")))
            new_lines.append(cst.SimpleStatementLine(body=[cst.Expr(refresh)]))
        body = list(self.block.body)
        body[self.start : self.end + 1] = new_lines
        return self.block.with_changes(body=body)


# -- DJG502 -------------------------------------------------------------------------------

_CREATE_METHODS = frozenset({"create", "get_or_create", "bulk_create"})


def _ast_model_create(node: ast.Call, ctx: FileContext) -> bool:
    func = node.func
    return (
        isinstance(func, ast.Attribute)
        and func.attr in _CREATE_METHODS
        and isinstance(func.value, ast.Attribute)
        and func.value.attr == "objects"
    )


class ModelCreateInTest(_TestRule):
    """Checks test code for `<Model>.objects.create/get_or_create/bulk_create(...)`."""

    CODE = "DJG502"
    NAME = "model-create-in-test"
    MESSAGE = "`{call}()` in test code; create test data with a factory{example}"
    RATIONALE = (
        "Factories (factory_boy, model_bakery) keep the required fields, valid defaults and "
        "related objects of a model in one place; `objects.create(...)` calls repeat them in "
        "every test and all break when a required field is added."
    )
    GUIDE = "004: Use factory pattern for object creation in tests"
    OPT_IN = True
    OPTIONS = ("test-patterns", "factory-patterns")
    NOTES = (
        "Only the default manager `objects` is checked (`Post.objects.create(...)`, "
        "`models.Post.objects.get_or_create(...)`, `get_user_model().objects.create(...)`); "
        "custom managers, `create_user()`/`create_superuser()` and related managers "
        "(`post.comments.create(...)`) are left alone. Factory modules (`factories.py`, "
        "`factories/`) are exempt, since that is where factories call the ORM."
    )
    VALID = [
        Valid(
            "def test_post_list(client):\n"
            "    PostFactory.create_batch(3)\n"
            '    assert client.get("/posts/").status_code == 200\n',
            path=TEST_PATH,
        ),
        Valid(
            "class PostFactory(DjangoModelFactory):\n"
            "    @classmethod\n"
            "    def _create(cls, model_class, *args, **kwargs):\n"
            "        return model_class.objects.create(*args, **kwargs)\n",
            path="blog/tests/factories.py",
        ),
    ]
    INVALID = [
        Invalid(
            "from blog.models import Post\n\n\n"
            "def test_post_list(client):\n"
            '    Post.objects.create(title="First")\n'
            '    assert client.get("/posts/").status_code == 200\n',
            5,
            4,
            path=TEST_PATH,
        ),
    ]
    TEXT_HINTS = ("objects",)
    AST_TRIGGERS = {ast.Call: _ast_model_create}

    @classmethod
    def applies_to(cls, ctx: FileContext) -> bool:
        """Test code that is not a factories module."""
        return ctx.is_test and not ctx.is_factories and not ctx.is_migration

    def visit_Call(self, node: cst.Call) -> None:
        """Report ``<Model>.objects.<create method>(...)``."""
        func = node.func
        if not (
            isinstance(func, cst.Attribute)
            and func.attr.value in _CREATE_METHODS
            and isinstance(func.value, cst.Attribute)
            and func.value.attr.value == "objects"
        ):
            return
        receiver = func.value.value
        model = dotted_name(receiver)
        shown = model if model is not None else cst.Module(body=[]).code_for_node(receiver)
        if len(shown) > 40:
            shown = shown[:37] + "..."
        example = ""
        if model is not None and _last(model)[:1].isupper():
            batch = ".create_batch(...)" if func.attr.value == "bulk_create" else "(...)"
            example = f" (`{_last(model)}Factory{batch}`)"
        self.report(node, call=f"{shown}.objects.{func.attr.value}", example=example)


# -- DJG503 -------------------------------------------------------------------------------

SETUP_METHODS = frozenset({"setUp", "setUpTestData", "setUpClass", "tearDown"})


class UnittestSetupInTest(_TestRule):
    """Checks test classes for unittest set-up and tear-down methods."""

    CODE = "DJG503"
    NAME = "unittest-setup-in-test"
    MESSAGE = "`{method}` in test class `{cls}`; use pytest fixtures instead"
    RATIONALE = (
        "pytest fixtures give each test exactly the data it asks for by name, compose and "
        "share through `conftest.py`, and tear down with `yield`; `setUp` methods build "
        "everything for every test of the class and hide what a test depends on."
    )
    GUIDE = "004: Tests: Use pytest fixtures, keep tests atomic and isolated"
    OPT_IN = True
    NOTES = (
        "Reported at the `def` line of `setUp`, `setUpTestData`, `setUpClass` or `tearDown` "
        "defined directly in the body of a class in test code (also mixins and base test "
        "classes: they are set-up code too)."
    )
    VALID = [
        Valid(
            "@pytest.fixture\n"
            "def post(db):\n"
            "    return PostFactory()\n\n\n"
            "def test_post_title(post):\n"
            "    assert post.title\n",
            path=TEST_PATH,
        ),
        Valid(
            "class PostViewSet(ModelViewSet):\n    def setUp(self):\n        pass\n",
            path="blog/views.py",
        ),
    ]
    INVALID = [
        Invalid(
            "from django.test import TestCase\n\n"
            "from blog.tests.factories import PostFactory\n\n\n"
            "class PostTests(TestCase):\n"
            "    @classmethod\n"
            "    def setUpTestData(cls):\n"
            "        cls.post = PostFactory()\n",
            8,
            4,
            path=TEST_PATH,
        ),
    ]
    TEXT_HINTS = ("setUp", "tearDown")
    AST_TRIGGERS = {
        ast.FunctionDef: lambda node, ctx: node.name in SETUP_METHODS,
        ast.AsyncFunctionDef: lambda node, ctx: node.name in SETUP_METHODS,
    }
    # Looks only at the trigger node and its enclosing statements: other bodies may be left out.
    TRIGGER_SCOPE = "function"

    def __init__(self, ctx: FileContext) -> None:
        super().__init__(ctx)
        self.scopes: list[str | None] = []  # class names, None for functions

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        """Enter a class."""
        self.scopes.append(node.name.value)

    def leave_ClassDef(self, node: cst.ClassDef) -> None:
        """Leave a class."""
        self.scopes.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        """Report set-up methods defined directly in a class."""
        if self.scopes and self.scopes[-1] is not None and node.name.value in SETUP_METHODS:
            self.report(node, method=node.name.value, cls=self.scopes[-1])
        self.scopes.append(None)

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        """Leave a function."""
        self.scopes.pop()


# -- DJG504 -------------------------------------------------------------------------------


def project_relative_path(ctx: FileContext) -> str:
    """The file's ``/``-separated path below the project root (``/blog/tests/x.py``),
    or the path as given when there is no project root around it."""
    root = ctx.project_root
    if root is not None and ctx.filename not in ("-", "stdin", ""):
        try:
            relative = os.path.relpath(os.path.abspath(ctx.filename), str(root))
        except ValueError:  # another drive on Windows
            return ctx.path
        if not relative.startswith(".."):
            return posix_path(relative)
    return ctx.path


class InitInTestsOrCommands(Rule):
    """Checks for an `__init__.py` inside a tests directory or a `management/commands/`
    directory."""

    CODE = "DJG504"
    NAME = "init-in-tests-or-commands"
    MESSAGE = "`__init__.py` in the {kind} directory `{directory}`; delete it ({reason})"
    #: for an ``__init__.py`` that holds code: never "delete it", say where the code goes
    CODE_MESSAGES = {
        "tests": (
            "`__init__.py` in the tests directory `{directory}` holds code; move it to a module "
            "of its own (fixtures to `conftest.py`), then the directory needs no `__init__.py` "
            "(pytest collects tests without it)"
        ),
        "management commands": (
            "`__init__.py` in the management commands directory `{directory}` holds code; move "
            "it to a module whose name starts with `_` (`_base.py`: Django lists no such "
            "module as a command), then the directory needs no `__init__.py`"
        ),
    }
    RATIONALE = (
        "The team keeps test and management-command directories as plain directories: "
        "pytest collects tests without `__init__.py` files and Django finds commands in "
        "`management/commands/` without one, and empty package markers only add files "
        "that must be kept in sync when directories move."
    )
    GUIDE = "004: We do not need `__init__.py` in the management command or test folders"
    OPTIONS = ("test-patterns", "command-patterns", "project-root")
    PATH_ONLY = True
    NOTES = (
        "Judged from the path alone, so empty files are reported too (at 1:1; put "
        "`# noqa: DJG504` there or use `per-file-ignores`). A tests directory is a directory "
        "matched by `test-patterns` (by default any directory named `tests` or `test`, at "
        "any depth below it), and a commands directory one matched by `command-patterns`. "
        "Directories are taken relative to the project root, so a project that itself "
        "lives under a directory named `tests` is not affected. An `__init__.py` that holds "
        'code (any statement but a docstring) is reported without "delete it": the message '
        "says where the code goes (fixtures to `conftest.py`, a command directory's shared "
        "code to a `_`-prefixed module). A tests directory's `__init__.py` is not reported "
        "where a test module below it (`test_*.py`, `*_test.py`, `tests.py`, `*_tests.py`) "
        "shares its basename with another test module of the project that would also be "
        "imported by basename (in a tests directory, or in a directory without "
        "`__init__.py`): pytest's default import mode then needs the packages to tell them "
        "apart. "
        "A tests directory is reported only when the project evidently runs pytest (a "
        "`pytest.ini`, `[tool.pytest.ini_options]` in `pyproject.toml`, `[tool:pytest]` in "
        "`setup.cfg` or `pytest` in `tox.ini`, in the project root or up to three "
        "directories above it within the repository, or a `conftest.py` anywhere in the "
        "project; a file with no project around it, such as code on stdin, is judged by the "
        "guide's own setup, pytest): Django's own runner (`manage.py test`, unittest discovery) skips a "
        "directory without `__init__.py`, so deleting it there loses the tests. Also left "
        "alone: a directory below which no test module lives (a package of test data or "
        "helpers imported by dotted path, `tests/fixtures/`), and a tests directory holding "
        "a package whose name another tests directory also holds (`tests/test_src/` in "
        "every app: without the parents' `__init__.py` they would clash as one top-level "
        "package). The `management/commands/__init__.py` files are reported whatever the "
        "test runner. "
        "`management/__init__.py`, the app's own `__init__.py` and `migrations/__init__.py` "
        "(also of a test app: Django skips migrations directories that are not packages) "
        "are left alone."
    )
    VALID = [
        Valid('"""The blog app."""\n', path="blog/__init__.py"),
        Valid("", path="blog/management/__init__.py"),
        Valid("", path="blog/migrations/__init__.py"),
    ]
    INVALID = [
        Invalid('"""Tests of the blog app."""\n', 1, 0, path="blog/tests/__init__.py"),
        Invalid("", 1, 0, path="blog/tests/__init__.py"),
        Invalid("", 1, 0, path="blog/management/commands/__init__.py"),
        Invalid('"""Helpers for the API tests."""\n', 1, 0, path="blog/tests/api/__init__.py"),
    ]

    @classmethod
    def applies_to(cls, ctx: FileContext) -> bool:
        """Only ``__init__.py`` files, and not a migrations package's (Django needs it)."""
        return ctx.basename == "__init__.py" and not ctx.is_migration

    @classmethod
    def check_path(cls, ctx: FileContext) -> str | None:
        """The finding's message when the file is in a tests or commands directory."""
        relative = project_relative_path(ctx)
        directory = relative.rsplit("/", 1)[0].lstrip("/") + "/"
        test_patterns = ctx.settings.list("test-patterns")
        if matches(relative, test_patterns):
            kind, reason = "tests", "pytest collects tests without it"
            root = ctx.project_root
            if root is not None:
                if not _runs_pytest(str(root), tuple(test_patterns)):
                    return None
                layout = _test_layout(str(root), tuple(test_patterns))
                place = directory.rstrip("/")
                if (
                    _shares_test_basename(layout, place)
                    or not _holds_tests(layout, place)
                    or _clashing_packages(layout, place)
                ):
                    return None
        elif matches(relative, ctx.settings.list("command-patterns")):
            kind, reason = "management commands", "Django finds commands without it"
        else:
            return None
        if _holds_code(ctx.tree):
            return cls.CODE_MESSAGES[kind].format(directory=directory)
        return cls.MESSAGE.format(kind=kind, directory=directory, reason=reason)


def _holds_code(tree: ast.Module | None) -> bool:
    """Whether a module has a statement other than its docstring."""
    if tree is None:
        return False
    body = tree.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    return bool(body)


def _is_test_module(name: str) -> bool:
    """A module pytest collects by default or as Django projects configure it."""
    return name.endswith(".py") and (
        name.startswith("test_") or name.endswith(("_test.py", "_tests.py")) or name == "tests.py"
    )


def _shares_test_basename(layout: _TestLayout, directory: str) -> bool:
    """Whether a test module below ``directory`` (relative to the project root) shares its
    basename with another test module of the project that is imported by basename too."""
    prefix = directory + "/" if directory else ""
    return any(
        len(places) > 1
        for places in layout.by_basename.values()
        if any(place == directory or place.startswith(prefix) for place in places)
    )


def _holds_tests(layout: _TestLayout, directory: str) -> bool:
    """Whether ``directory`` or a directory below it holds a test module (a package of
    test data or helpers, ``tests/fixtures/``, is imported by dotted path, not collected)."""
    prefix = directory + "/" if directory else ""
    return any(d == directory or d.startswith(prefix) for d in layout.test_directories)


def _clashing_packages(layout: _TestLayout, directory: str) -> bool:
    """Whether a package directly in ``directory`` (``tests/test_src/``) has the name of a
    package directly in another tests directory: without the parents' ``__init__.py``
    both would be imported as the same top-level package."""
    return any(len(parents) > 1 and directory in parents for parents in layout.subpackages.values())


PYTEST_CONFIGS: dict[str, re.Pattern[str] | None] = {
    "pytest.ini": None,
    "pyproject.toml": re.compile(r"^\s*\[tool\.pytest(\.ini_options)?\]", re.MULTILINE),
    "setup.cfg": re.compile(r"^\s*\[tool:pytest\]", re.MULTILINE),
    "tox.ini": re.compile(r"\bpytest\b(?![-_.])"),
}


@functools.lru_cache(maxsize=16)
def _runs_pytest(root: str, test_patterns: tuple[str, ...]) -> bool:
    """Whether the project evidently runs its tests with pytest: a ``pytest.ini``, a
    ``[tool.pytest.ini_options]`` table, a ``[tool:pytest]`` section or ``pytest`` in
    ``tox.ini`` (in the project root or a directory above it, up to the repository
    root), or a ``conftest.py`` anywhere in the project. Cleared by the check server
    before each request."""
    path = Path(root)
    for candidate in (path, *path.parents)[:4]:
        for name, pattern in PYTEST_CONFIGS.items():
            config = candidate / name
            if not config.is_file():
                continue
            if pattern is None:
                return True
            try:
                text = config.read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            if pattern.search(text):
                return True
        if (candidate / ".git").exists():
            break
    return _test_layout(root, test_patterns).has_conftest


@dataclass(frozen=True)
class _TestLayout:
    """What the rule needs to know of the project's test files."""

    #: ``{basename: [directories]}`` of test modules imported by basename
    by_basename: dict[str, list[str]]
    #: directories holding test modules
    test_directories: frozenset[str]
    #: ``{name: [tests directories]}`` of packages directly in a tests directory
    subpackages: dict[str, list[str]]
    has_conftest: bool


@functools.lru_cache(maxsize=16)
def _test_layout(root: str, test_patterns: tuple[str, ...]) -> _TestLayout:
    """The project's test files below ``root``: test modules that pytest imports by
    basename once the rule's advice is followed (those in a tests directory, or in a
    directory without ``__init__.py``), the directories holding test modules, the
    packages in tests directories and whether a ``conftest.py`` exists. Cleared by the
    check server before each request."""
    from flake8_djguide.index.store import SKIP_DIRS

    found: dict[str, list[str]] = {}
    directories: set[str] = set()
    subpackages: dict[str, list[str]] = {}
    has_conftest = False
    for current, dirs, files in os.walk(root):
        dirs[:] = [
            d
            for d in dirs
            if not d.startswith(".")
            and d not in SKIP_DIRS
            and not os.path.exists(os.path.join(current, d, "pyvenv.cfg"))
        ]
        has_conftest = has_conftest or "conftest.py" in files
        relative = os.path.relpath(current, root).replace(os.sep, "/")
        relative = "" if relative == "." else relative
        in_tests = matches(posix_path(f"{relative}/__init__.py"), test_patterns)
        if in_tests and "__init__.py" in files:
            for d in dirs:
                if os.path.isfile(os.path.join(current, d, "__init__.py")):
                    subpackages.setdefault(d, []).append(relative)
        tests = [f for f in files if _is_test_module(f)]
        if not tests:
            continue
        directories.add(relative)
        if in_tests or "__init__.py" not in files:
            for name in tests:
                found.setdefault(name, []).append(relative)
    return _TestLayout(found, frozenset(directories), subpackages, has_conftest)
