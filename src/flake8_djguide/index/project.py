"""The linked model index: models, relations, managers and serializers of a project.

Built from the per-module facts of :mod:`flake8_djguide.index.extract`: class
names are resolved through each module's imports (also through re-exports such
as ``models/__init__.py``), classes are classified by their bases across
modules, fields inherited from abstract or parent models are collected, and
every forward relation adds its reverse accessor (``related_name``,
``Meta.default_related_name`` or ``<model>_set``) to its target model.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from flake8_djguide.index.extract import Encoded

MODEL_BASES = frozenset(
    {"django.db.models.Model", "django.db.models.base.Model", "django.db.models.base.ModelBase"}
)
#: External abstract models whose fields are known.
_AUTH_ABSTRACT = frozenset(
    {
        "django.contrib.auth.models.AbstractUser",
        "django.contrib.auth.base_user.AbstractBaseUser",
        "django.contrib.auth.models.AbstractBaseUser",
        "django.contrib.auth.models.PermissionsMixin",
    }
)
SERIALIZER_BASES = frozenset(
    {
        "rest_framework.serializers.Serializer",
        "rest_framework.serializers.ModelSerializer",
        "rest_framework.serializers.HyperlinkedModelSerializer",
        "rest_framework.serializers.BaseSerializer",
    }
)
MANAGER_BASES = frozenset(
    {
        "django.db.models.Manager",
        "django.db.models.manager.Manager",
        "django.db.models.manager.BaseManager",
    }
)
QUERYSET_BASES = frozenset({"django.db.models.QuerySet", "django.db.models.query.QuerySet"})

FORWARD_SINGLE = frozenset({"fk", "o2o"})
MANY_KINDS = frozenset({"m2m", "rev_fk", "rev_m2m", "grel"})
_RELATION_CALLS = {
    "ForeignKey": "fk",
    "TreeForeignKey": "fk",
    "ParentalKey": "fk",
    "OneToOneField": "o2o",
    "ManyToManyField": "m2m",
    "ParentalManyToManyField": "m2m",
    "TreeManyToManyField": "m2m",
    "GenericForeignKey": "gfk",
    "GenericRelation": "grel",
}

#: Name endings of third-party relation fields (``SortedManyToManyField``,
#: ``TreeOneToOneField``): subclasses of Django's, named after them.
_RELATION_SUFFIXES = (("ManyToManyField", "m2m"), ("ForeignKey", "fk"), ("OneToOneField", "o2o"))


def query_name(accessor: str, kind: str | None, target: str | None) -> str:
    """The lookup name of the relation ``accessor`` (see :attr:`Relation.query_name`);
    ``kind`` ``None`` when the relation is unknown, whose ``<model>_set`` is then taken for
    a default reverse accessor."""
    if kind not in (None, "rev_fk", "rev_m2m") or not accessor.endswith("_set"):
        return accessor
    if kind is None or target is None:
        return accessor[:-4]
    return accessor[:-4] if accessor[:-4] == target.rsplit(".", 1)[-1].lower() else accessor


@dataclass
class Relation:
    """A relation attribute of a model instance (forward or reverse)."""

    name: str
    kind: str  # fk, o2o, gfk, m2m, grel (forward); rev_fk, rev_o2o, rev_m2m (reverse)
    target: str | None  # qualified name of the related model, when known
    null: bool = False
    through: str | None = None  # many-to-many: qualified name of the through model

    @property
    def many(self) -> bool:
        """A related manager (``obj.<name>.all()``) rather than one object."""
        return self.kind in MANY_KINDS

    @property
    def query_name(self) -> str:
        """The name lookups use (``filter(<name>__...)``, ``Count("<name>")``): the
        accessor, except a reverse relation's default ``<model>_set``, which is ``<model>``
        there."""
        return query_name(self.name, self.kind, self.target)

    @property
    def select_ok(self) -> bool:
        """``select_related`` can load it (forward or reverse one-to-one, forward FK)."""
        return self.kind in ("fk", "o2o", "rev_o2o")

    @property
    def forward_single(self) -> bool:
        """A forward ForeignKey or OneToOneField (``select_related`` can follow it)."""
        return self.kind in FORWARD_SINGLE


@dataclass
class Method:
    """A method of a manager or queryset class: what it returns."""

    returns: list[Encoded]
    owner: str  # qualified name of the defining class (for recursion)


@dataclass
class Manager:
    """A manager attribute of a model: its custom methods and ``get_queryset`` override."""

    methods: dict[str, Method] = field(default_factory=dict)
    #: a method of a later class that one of ``methods`` hides: a manager's
    #: ``published()`` returning ``self.get_queryset().published()`` calls its queryset's
    shadowed: dict[str, Method] = field(default_factory=dict)
    get_queryset: Method | None = None
    #: the project manager and queryset classes it is made of (with their project bases)
    classes: tuple[str, ...] = ()


@dataclass
class Model:
    """One model class."""

    qualname: str
    name: str
    module: str
    app_label: str
    abstract: bool = False
    relations: dict[str, Relation] = field(default_factory=dict)
    fields: set[str] = field(default_factory=set)  # concrete non-relation fields
    #: attributes assigned a call the index cannot classify (a third-party field class)
    unknown: set[str] = field(default_factory=set)
    managers: dict[str, Manager] = field(default_factory=dict)
    ordered: bool = False  # Meta.ordering (own or inherited)
    complete: bool = True  # every base is known: attributes not listed are not relations
    #: methods and properties taking only ``self``: the attribute chains they read on it
    self_reads: dict[str, list[list[str]]] = field(default_factory=dict)
    #: of those, the ones that look their result up in a shared cache (``"memo"``) or
    #: query a model's manager (``"query"``: a query per row no prefetch removes)
    self_queries: dict[str, str] = field(default_factory=dict)
    #: the tracked methods (``update``, ``save``) the model or a project base defines
    defines: frozenset[str] = frozenset()
    #: every base is a project class or Django's own: ``defines`` is all there is
    methods_known: bool = True

    def relation(self, attr: str) -> Relation | None:
        """The relation reachable as ``instance.<attr>``."""
        return self.relations.get(attr)


@dataclass
class SerializerField:
    """A declared serializer field: the call that creates it."""

    name: str
    call: Encoded
    module: str


@dataclass
class Serializer:
    """One DRF serializer class."""

    qualname: str
    module: str
    model: str | None = None  # qualified model name (Meta.model)
    declared: dict[str, SerializerField] = field(default_factory=dict)
    meta_fields: list[str] | None = None  # None: unknown or not given
    all_fields: bool = False  # fields = "__all__"
    exclude: list[str] = field(default_factory=list)
    depth: int = 0
    methods: dict[str, dict[str, Any]] = field(default_factory=dict)
    complete: bool = True
    #: ``Meta.extra_kwargs``: ``{field: {"lookup_field": value}}``
    extra_kwargs: dict[str, dict[str, str]] = field(default_factory=dict)


#: The facts kept of a compacted module that has imports or classes and nothing else.
_NOTHING_ELSE: dict[str, Any] = {}


class LinkedClass(Mapping[str, Any]):
    """The facts a compacted index keeps of a class: ``bases``, ``refs`` (the dotted
    names assigned in its body) and ``view`` (what a base view contributes to the DRF views
    deriving from it), read like the class's facts. Its name is the last part of its
    qualified name.
    """

    __slots__ = ("_bases", "_refs", "_view")

    def __init__(
        self,
        bases: list[str] | None,
        refs: dict[str, str] | None,
        view: dict[str, Any] | None = None,
    ) -> None:
        self._bases = tuple(bases) if bases else ()
        self._refs = refs or None
        self._view = view or None

    def __getitem__(self, key: str) -> Any:
        if key == "bases":
            return self._bases
        if key == "refs" and self._refs is not None:
            return self._refs
        if key == "view" and self._view is not None:
            return self._view
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        keys = ["bases"]
        if self._refs is not None:
            keys.append("refs")
        if self._view is not None:
            keys.append("view")
        return iter(keys)

    def __len__(self) -> int:
        return 1 + (self._refs is not None) + (self._view is not None)


class Index:
    """Classes of a project, resolved and classified."""

    def __init__(self, modules: Mapping[str, dict[str, Any]]) -> None:
        #: module name -> facts
        self.modules = dict(modules)
        self.classes: dict[str, tuple[str, Mapping[str, Any]]] = {}
        #: qualified function or method name -> its summary (index.functions)
        self.functions: dict[str, dict[str, Any]] = {}
        #: modules whose functions were summarised when the index was built
        self.summarised: frozenset[str] = frozenset(
            module for module, facts in self.modules.items() if "functions" in facts
        )
        for module, facts in self.modules.items():
            for cls in facts.get("classes", ()):
                self.classes[f"{module}.{cls['name']}"] = (module, cls)
            for name, summary in facts.get("functions", {}).items():
                if "ret" in summary:
                    summary = {**summary, "ret": _qualified_returns(module, facts, summary["ret"])}
                self.functions[f"{module}.{name}"] = summary
        #: a project manager/QuerySet method's name -> the modules calling it on a model's
        #: manager and rendering templates (``Topic.objects.for_forum(...)``: ``mcalls``)
        self.manager_callers: dict[str, list[str]] = {}
        for module, facts in self.modules.items():
            for name in facts.get("mcalls", ()):
                self.manager_callers.setdefault(name, []).append(module)
        #: modules defining classes (also after :meth:`compact`)
        self.class_modules = {
            module for module, facts in self.modules.items() if facts.get("classes")
        }
        self._kinds: dict[str, str | None] = {}
        self._imports: dict[str, dict[str, str]] = {}
        self.models: dict[str, Model] = {}
        self.serializers: dict[str, Serializer] = {}
        self.models_by_name: dict[str, list[str]] = {}
        self.models_by_label: dict[tuple[str, str], str] = {}
        self.manager_names: set[str] = {"objects"}
        self.queryset_methods: set[str] = set()
        #: manager and queryset classes: the models with a manager made of them
        self.queryset_models: dict[str, set[str]] = {}
        self.auth_user_model = ""
        self.listed_inlines: frozenset[str] | None = None
        for facts in self.modules.values():
            if facts.get("auth_user_model"):
                self.auth_user_model = facts["auth_user_model"]
        self._link()
        #: model -> the lookups of each ``prefetch_related()`` call of the project on its
        #: querysets (``{"package.models.Package": [("gridpackage_set__grid",), ...]}``)
        self.prefetched: dict[str, list[tuple[str, ...]]] = {}
        self.prefetched = self._prefetched()

    def _prefetched(self) -> dict[str, list[tuple[str, ...]]]:
        found: dict[str, list[tuple[str, ...]]] = {}
        for module, facts in self.modules.items():
            if facts.get("prefetches"):
                found = self.prefetched_with(module, facts["prefetches"], found)
        return found

    def prefetched_with(
        self,
        module: str,
        calls: list[list[str]],
        found: dict[str, list[tuple[str, ...]]] | None = None,
    ) -> dict[str, list[tuple[str, ...]]]:
        """:attr:`prefetched` (or ``found``) with the ``[model, lookup, ...]`` calls of
        ``module`` added."""
        result = dict(self.prefetched if found is None else found)
        package = self.modules.get(module, {}).get("package")
        for root, *lookups in calls:
            dotted = (
                f"{module}.{root[1:]}" if root.startswith("@") else absolute(module, root, package)
            )
            model = self.models.get(self._follow(dotted, 0))
            if model is not None:
                result[model.qualname] = [*result.get(model.qualname, []), tuple(lookups)]
        return result

    def served_by_prefetch(self, model: str, relation: str) -> list[tuple[str, ...]]:
        """The paths under ``relation`` of ``model`` that every ``prefetch_related()`` of
        the project prefetching that relation loads too (none when no call prefetches it,
        or when one loads the relation alone): the paths a method of the model reading
        ``self.<relation>.all()`` can count on from its callers."""
        head = f"{relation}__"
        common: set[tuple[str, ...]] | None = None
        for lookups in self.prefetched.get(model, ()):
            mine = [lookup for lookup in lookups if lookup == relation or lookup.startswith(head)]
            if not mine:
                continue
            paths: set[tuple[str, ...]] = set()
            for lookup in mine:
                parts = tuple(p for p in lookup[len(head) :].split("__") if p)
                paths.update(parts[:end] for end in range(1, len(parts) + 1))
            common = paths if common is None else common & paths
        return sorted(common or ())

    # -- after linking ---------------------------------------------------------------------

    def compact(self) -> None:
        """Keep only what the rules look up once the index is linked.

        The facts of every module are kept while linking; the rules then read
        only each module's imports (made absolute here), star imports and
        ``get_user_model()`` aliases, and each class's name, bases and the names
        assigned in its body (:meth:`class_ref`). Each class's kind is already
        decided (``_link`` classifies every class). The rest (field calls, method
        summaries, ``Meta``, line numbers, the models' linking notes) goes: in a
        flake8 run, the index built before the workers fork is part of every
        worker's memory. A compacted index cannot be linked again: the project's
        facts are read again for that (:func:`flake8_djguide.index.get_index`).
        """
        modules: dict[str, dict[str, Any]] = {}
        for module, facts in self.modules.items():
            imports = self.imports_of(module)
            slim: dict[str, Any] = _NOTHING_ELSE
            stars = facts.get("stars")
            if stars or facts.get("aliases") or facts.get("auth_user_model"):
                slim = {}
                if stars:
                    slim["stars"] = [absolute(module, s, facts.get("package")) for s in stars]
                for key in ("aliases", "auth_user_model"):
                    if facts.get(key):
                        slim[key] = facts[key]
            elif not imports and not facts.get("classes"):
                self._imports.pop(module, None)
                continue  # resolves nothing: as if the module were not in the project
            modules[module] = slim
        self.modules = modules
        for qualname, (module, linked) in self.classes.items():
            self.classes[qualname] = (
                module,
                LinkedClass(linked.get("bases"), linked.get("refs"), linked.get("view")),
            )
        for model in self.models.values():
            for note in ("_pending", "_ancestors", "_default_related"):
                model.__dict__.pop(note, None)

    # -- names ---------------------------------------------------------------------------

    def imports_of(self, module: str) -> dict[str, str]:
        """The module's imports with relative origins made absolute."""
        found = self._imports.get(module)
        if found is None:
            facts = self.modules.get(module, {})
            found = {
                name: absolute(module, origin, facts.get("package"))
                for name, origin in facts.get("imports", {}).items()
            }
            self._imports[module] = found
        return found

    def resolve(self, module: str, dotted: str, depth: int = 0) -> str:
        """The qualified name ``dotted`` denotes in ``module`` (best effort)."""
        head, _, rest = dotted.partition(".")
        imports = self.imports_of(module)
        if head in imports:
            target = imports[head] + (f".{rest}" if rest else "")
        else:
            target = f"{module}.{dotted}"
            if target not in self.classes:
                for star in self.modules.get(module, {}).get("stars", ()):
                    origin = absolute(module, star, self.modules.get(module, {}).get("package"))
                    candidate = f"{origin}.{dotted}"
                    if depth < 6 and origin in self.modules:
                        candidate = self.resolve(origin, dotted, depth + 1)
                    if candidate in self.classes:
                        return candidate
        return self._follow(target, depth)

    def _follow(self, target: str, depth: int) -> str:
        """Follow re-exports: ``pkg.models.Product`` imported in ``pkg/models/__init__.py``."""
        if target in self.classes or depth >= 6:
            return target
        module, _, name = target.rpartition(".")
        if module in self.modules and name:
            imports = self.imports_of(module)
            if name in imports:
                return self._follow(imports[name], depth + 1)
            for star in self.modules[module].get("stars", ()):
                origin = absolute(module, star, self.modules[module].get("package"))
                candidate = self._follow(f"{origin}.{name}", depth + 1)
                if candidate in self.classes:
                    return candidate
        return target

    # -- classification ----------------------------------------------------------------------

    def kind(self, qualname: str, seen: set[str] | None = None) -> str | None:
        """``model``, ``serializer``, ``manager``, ``queryset`` or ``None``."""
        if qualname in self._kinds:
            return self._kinds[qualname]
        external = _external_kind(qualname)
        if external is not None:
            return external
        entry = self.classes.get(qualname)
        if entry is None:
            return None
        seen = set() if seen is None else seen
        if qualname in seen:
            return None
        seen.add(qualname)
        module, facts = entry
        result: str | None = None
        for base in facts.get("bases", ()):
            if not base:
                continue
            kind = self.kind(self.resolve(module, base), seen)
            if kind is not None:
                result = kind
                break
        if result is None:
            result = _third_party_manager(self, module, facts)
        if result is None and _third_party_serializer(self, module, facts):
            result = "serializer"
        if result is None and _looks_like_model(self, module, facts):
            result = "model"
        self._kinds[qualname] = result
        return result

    # -- linking ---------------------------------------------------------------------------

    def _link(self) -> None:
        for qualname in self.classes:
            kind = self.kind(qualname)
            if kind == "model":
                self._model(qualname)
            elif kind == "serializer":
                self._serializer(qualname)
        for model in list(self.models.values()):
            self.models_by_name.setdefault(model.name, []).append(model.qualname)
            self.models_by_label.setdefault((model.app_label, model.name), model.qualname)
        _add_builtin_models(self)
        for model in list(self.models.values()):
            self._resolve_targets(model)
        # Models inheriting each model's reverse accessors (multi-table and proxy children).
        descendants: dict[str, list[Model]] = {}
        for model in self.models.values():
            for ancestor in getattr(model, "_ancestors", ()):
                descendants.setdefault(ancestor, []).append(model)
        for model in list(self.models.values()):
            if not model.abstract:
                self._add_reverse(model, descendants)
        for serializer in self.serializers.values():
            if serializer.model is not None:
                serializer.model = self.model_ref(serializer.module, ["ref", serializer.model])
        self._link_inlines()

    def _link_inlines(self) -> None:
        """The project classes some admin lists in its ``inlines`` (with their project
        bases, whose ``model`` they inherit); ``None`` when a list cannot be told."""
        listed: set[str] | None = set()
        entries = [
            (m, name) for m, facts in self.modules.items() for name in facts.get("inlines", ())
        ]
        for module, facts in self.classes.values():
            entries.extend((module, name) for name in facts.get("inlines", ()))
        stack: list[str] = []
        for module, name in entries:
            if not name:
                listed = None
                break
            stack.append(self.resolve(module, name))
        while listed is not None and stack:
            qualname = stack.pop()
            if qualname in listed or qualname not in self.classes:
                continue
            listed.add(qualname)
            stack.extend(self._bases(qualname))
        self.listed_inlines = None if listed is None else frozenset(listed)

    def inline_listed(self, qualname: str) -> bool | None:
        """Whether some admin of the project lists the class ``qualname`` in its
        ``inlines`` (or lists a subclass of it); ``None`` when the index cannot tell (a
        list it cannot read, a class it does not know)."""
        if self.listed_inlines is None or qualname not in self.classes:
            return None
        return qualname in self.listed_inlines

    def _bases(self, qualname: str) -> list[str]:
        module, facts = self.classes[qualname]
        return [self.resolve(module, b) for b in facts.get("bases", ()) if b]

    def _model(self, qualname: str, stack: set[str] | None = None) -> Model:
        existing = self.models.get(qualname)
        if existing is not None:
            return existing
        module, facts = self.classes[qualname]
        meta = facts.get("meta", {})
        label = _literal(meta.get("app_label")) or app_label_of(module)
        model = Model(qualname, facts["name"], module, str(label))
        model.abstract = _literal(meta.get("abstract")) is True
        model.ordered = "ordering" in meta
        self.models[qualname] = model
        stack = (stack or set()) | {qualname}
        default_related = _literal(meta.get("default_related_name"))
        model_meta_default = default_related if isinstance(default_related, str) else None
        for base in self._bases(qualname):
            if base in stack:
                continue
            if base in self.classes and self.kind(base) == "model":
                parent = self._model(base, stack)
                for name, relation in parent.relations.items():
                    model.relations.setdefault(name, _copy(relation))
                model.fields |= parent.fields
                model.unknown |= parent.unknown
                for name, manager in parent.managers.items():
                    model.managers.setdefault(name, manager)
                for name, reads in parent.self_reads.items():
                    model.self_reads.setdefault(name, reads)
                for name, query in parent.self_queries.items():
                    if model.self_reads.get(name) is parent.self_reads.get(name):
                        # the parent's method, not one the model (or a nearer base) defines
                        model.self_queries.setdefault(name, query)
                model.ordered = model.ordered or parent.ordered
                model.complete = model.complete and parent.complete
                _inherit_pending(model, parent)
                if model_meta_default is None and parent.abstract:
                    model_meta_default = getattr(parent, "_default_related", None)
            elif base in _AUTH_ABSTRACT:
                _add_auth_user_fields(model)
            elif (base not in MODEL_BASES and _external_kind(base) != "model") or (
                _external_kind(base) == "model" and base not in MODEL_BASES
            ):
                model.complete = False
        model._default_related = model_meta_default  # type: ignore[attr-defined]
        for name, method in facts.get("methods", {}).items():
            if "self_reads" in method:
                model.self_reads[name] = method["self_reads"]
                model.self_queries.pop(name, None)
                if "self_query" in method:
                    model.self_queries[name] = method["self_query"]
        model.defines, model.methods_known = self._defined(qualname, stack)
        pending = getattr(model, "_pending", {})
        for attr, call in facts.get("calls", {}).items():
            kind = self._field_kind(module, call)
            if kind is None:
                created = self._manager(module, call)
                if created is not None:
                    model.managers[attr] = created
                    self.manager_names.add(attr)
                    for made_of in created.classes:
                        self.queryset_models.setdefault(made_of, set()).add(qualname)
                else:
                    model.unknown.add(attr)
                continue
            model.unknown.discard(attr)
            if kind == "field":
                model.fields.add(attr)
                model.relations.pop(attr, None)
                continue
            args = call[2] if len(call) > 2 else []
            kwargs = call[3] if len(call) > 3 else {}
            target = kwargs.get("to") or (args[0] if args else None)
            null = _literal(kwargs.get("null")) is True
            related = _literal(kwargs.get("related_name"))
            symmetrical = _literal(kwargs.get("symmetrical"))
            pending[attr] = {
                "target": target,
                "module": module,
                "related_name": related if isinstance(related, str) else None,
                "symmetrical": symmetrical,
                "declared_in": qualname,
                "through": kwargs.get("through") if kind == "m2m" else None,
            }
            model.relations[attr] = Relation(attr, kind, None, null)
            model.fields.discard(attr)
        model._pending = pending  # type: ignore[attr-defined]
        return model

    def _defined(self, qualname: str, stack: set[str]) -> tuple[frozenset[str], bool]:
        """The tracked methods a class and its bases define, and whether every base is
        known (a project class, or Django's model bases, which define neither)."""
        facts = self.classes[qualname][1]
        found = set(facts.get("defs", ()))
        known = True
        for base in self._bases(qualname):
            if base in stack:
                continue
            parent = self.models.get(base)
            if parent is not None:
                found |= parent.defines
                known = known and parent.methods_known
            elif base in self.classes:
                inherited, base_known = self._defined(base, stack | {base})
                found |= inherited
                known = known and base_known
            elif base not in MODEL_BASES and base not in _AUTH_ABSTRACT and base != "object":
                known = False
        return frozenset(found), known

    def _field_kind(self, module: str, call: Encoded) -> str | None:
        """``fk``/``o2o``/``m2m``/``gfk``/``grel``, ``field`` for other model fields, or None."""
        if not call or call[0] != "call" or call[1][0] != "ref":
            return None
        raw = call[1][1]
        last = raw.rsplit(".", 1)[-1]
        if last in _RELATION_CALLS:
            return _RELATION_CALLS[last]
        for suffix, kind in _RELATION_SUFFIXES:
            if last.endswith(suffix):
                # a third-party relation field: sortedm2m's SortedManyToManyField...
                return kind
        qualified = self.resolve(module, raw)
        if qualified in self.classes:
            return self._field_class_kind(qualified, 0) if last.endswith("Field") else None
        if last.endswith("Field") and (
            qualified.startswith("django.") or raw.startswith("models.")
        ):
            return "field"
        return None

    def _field_class_kind(self, qualname: str, depth: int) -> str | None:
        """The kind of field a project field class makes: a relation kind when one of its
        bases is a relation field (``class OwnerField(models.ForeignKey)``), ``field`` when
        every base is a Django field or such a project class, else ``None``."""
        module, facts = self.classes[qualname]
        for base in facts.get("bases", ()):
            if not base:
                return None
            last = base.rsplit(".", 1)[-1]
            if last in _RELATION_CALLS:
                return _RELATION_CALLS[last]
            resolved = self.resolve(module, base)
            if resolved in self.classes and depth < 6 and resolved != qualname:
                kind = self._field_class_kind(resolved, depth + 1)
                if kind != "field":
                    return kind
            elif not (resolved.startswith("django.") or base.startswith("models.")):
                return None
        return "field"

    def _manager(self, module: str, call: Encoded) -> Manager | None:
        """The manager created by ``ProductManager()``, ``ProductQuerySet.as_manager()``,
        ``ProductManager.from_queryset(ProductQuerySet)()`` or ``models.Manager()``."""
        if not call or call[0] != "call":
            return None
        func = call[1]
        classes: list[str] = []
        if func[0] == "ref":
            raw = func[1]
            if raw.endswith(".as_manager"):
                classes.append(self.resolve(module, raw[: -len(".as_manager")]))
            else:
                classes.append(self.resolve(module, raw))
        elif func[0] == "call" and func[1][0] == "ref" and func[1][1].endswith(".from_queryset"):
            classes.append(self.resolve(module, func[1][1][: -len(".from_queryset")]))
            for arg in func[2]:
                if arg[0] == "ref":
                    classes.append(self.resolve(module, arg[1]))
        else:
            return None
        manager = Manager()
        found = False
        seen: set[str] = set()
        for cls in classes:
            kind = self.kind(cls)
            if kind not in ("manager", "queryset"):
                continue
            found = True
            self._collect_methods(cls, manager, seen)
        manager.classes = tuple(sorted(seen))
        return manager if found else None

    def queryset_model(self, qualname: str) -> tuple[Model, list[Manager]] | None:
        """The model whose managers are made of the manager or queryset class
        ``qualname`` (``self`` in its methods is then a queryset of that model), and
        those managers; ``None`` unless exactly one model has such a manager."""
        owners = self.queryset_models.get(qualname, set())
        if len(owners) != 1:
            return None
        model = self.models.get(next(iter(owners)))
        if model is None:
            return None
        managers = [m for m in model.managers.values() if qualname in m.classes]
        return (model, managers) if managers else None

    def _collect_methods(self, qualname: str, manager: Manager, seen: set[str]) -> None:
        if qualname in seen or qualname not in self.classes:
            return
        seen.add(qualname)
        module, facts = self.classes[qualname]
        made: list[str] = []
        for name, method in facts.get("methods", {}).items():
            if name.startswith("__"):
                continue
            summary = Method(method.get("returns", []), qualname)
            if name == "get_queryset":
                if manager.get_queryset is None:
                    manager.get_queryset = summary
                    made = self._made_querysets(module, summary.returns)
                continue
            if name not in manager.methods:
                manager.methods[name] = summary
            elif manager.methods[name].owner != qualname:
                manager.shadowed.setdefault(name, summary)
            self.queryset_methods.add(name)
        for base in self._bases(qualname):
            self._collect_methods(base, manager, seen)
        for queryset in made:
            # ``return BookQuerySet(self.model, using=self._db)``: the manager's querysets
            # have that class's methods
            self._collect_methods(queryset, manager, seen)

    def _made_querysets(self, module: str, returns: list[Encoded]) -> list[str]:
        """The project queryset classes a ``get_queryset()`` builds its result from
        (``BookQuerySet(self.model, using=self._db).active()``)."""
        found: list[str] = []
        for encoded in returns:
            current = encoded
            while current and current[0] in ("call", "attr"):
                inner = current[1]
                if current[0] == "call" and inner and inner[0] == "ref":
                    qualname = self.resolve(module, inner[1])
                    if self.kind(qualname) == "queryset" and qualname not in found:
                        found.append(qualname)
                    break
                current = inner
        return found

    def _resolve_targets(self, model: Model) -> None:
        for attr, info in getattr(model, "_pending", {}).items():
            relation = model.relations.get(attr)
            if relation is None:
                continue
            target = info["target"]
            if target is None:
                continue
            relation.target = self.model_ref(info["module"], target, owner=model)
            if relation.kind == "m2m" and not model.abstract:
                relation.through = self._through(model, relation, info)

    def _through(self, model: Model, relation: Relation, info: Mapping[str, Any]) -> str | None:
        """The through model of ``model.<relation>`` (a many-to-many field): the one named
        by ``through=``, else the model Django creates, ``<Model>_<field>`` with a
        ``ForeignKey`` to each side (``from_<model>``/``to_<model>`` when both are one)."""
        if info.get("through") is not None:
            return self.model_ref(info["module"], info["through"], owner=model)
        target = self.models.get(relation.target) if relation.target else None
        if target is None:
            return None
        name = f"{model.name}_{relation.name}"
        qualname = f"{model.module}.{name}"
        if qualname in self.classes or qualname in self.models:
            return None
        through = Model(qualname, name, model.module, model.app_label)
        source, other = model.name.lower(), target.name.lower()
        if source == other:
            source, other = f"from_{source}", f"to_{other}"
        through.relations[source] = Relation(source, "fk", model.qualname)
        through.relations[other] = Relation(other, "fk", target.qualname)
        self.models[qualname] = through
        return qualname

    def _add_reverse(self, model: Model, descendants: Mapping[str, list[Model]]) -> None:
        for attr, info in getattr(model, "_pending", {}).items():
            relation = model.relations.get(attr)
            if relation is None or relation.kind not in ("fk", "o2o", "m2m"):
                continue
            if relation.target is None or relation.target not in self.models:
                continue
            if (
                relation.kind == "m2m"
                and relation.target == model.qualname
                and info["symmetrical"] is not False
            ):
                continue
            name = info["related_name"]
            if name is None:
                name = getattr(model, "_default_related", None)
            if name is None:
                lower = model.name.lower()
                name = lower if relation.kind == "o2o" else f"{lower}_set"
            name = name.replace("%(class)s", model.name.lower()).replace(
                "%(app_label)s", model.app_label.lower()
            )
            if not name or name.endswith("+"):
                continue
            kind = {"fk": "rev_fk", "o2o": "rev_o2o", "m2m": "rev_m2m"}[relation.kind]
            target = self.models[relation.target]
            through = relation.through
            target.relations.setdefault(name, Relation(name, kind, model.qualname, through=through))
            for child in descendants.get(target.qualname, ()):
                if child is not target:
                    child.relations.setdefault(
                        name, Relation(name, kind, model.qualname, through=through)
                    )

    def model_ref(self, module: str, encoded: Encoded, owner: Model | None = None) -> str | None:
        """The qualified model name an FK target (or ``Meta.model``) denotes."""
        if not encoded:
            return None
        tag = encoded[0]
        if tag == "str":
            text = encoded[1]
            if text == "self":
                return owner.qualname if owner is not None else None
            if "." in text:
                label, _, name = text.rpartition(".")
                found = self.models_by_label.get((label, name))
                return found if found is not None else self.unique_model(name)
            if owner is not None:
                found = self.models_by_label.get((owner.app_label, text))
                if found is not None:
                    return found
            return self.unique_model(text)
        if tag == "ref":
            raw = encoded[1]
            if raw.endswith("AUTH_USER_MODEL"):
                return self.user_model()
            qualified = self.resolve(module, raw)
            if qualified in self.models:
                return qualified
            if qualified in BUILTIN_MODELS:
                return qualified
            if qualified.endswith("AUTH_USER_MODEL"):
                return self.user_model()
            aliased = self.model_named(module, raw)
            return aliased.qualname if aliased is not None else None
        if tag == "call" and encoded[1][0] == "ref":
            func = encoded[1][1].rsplit(".", 1)[-1]
            if func == "get_user_model":
                return self.user_model()
            if func == "get_model":
                names = [_literal(a) for a in encoded[2]]
                if len(names) == 1 and isinstance(names[0], str) and "." in names[0]:
                    return self.model_ref(module, ["str", names[0]])
                if len(names) >= 2 and all(isinstance(n, str) for n in names[:2]):
                    return self.model_ref(module, ["str", f"{names[0]}.{names[1]}"])
        return None

    def unique_model(self, name: str) -> str | None:
        """The model named ``name`` when exactly one non-abstract model has that name."""
        candidates = [q for q in self.models_by_name.get(name, ()) if not self.models[q].abstract]
        return candidates[0] if len(candidates) == 1 else None

    def user_model(self) -> str | None:
        """The project's user model (``AUTH_USER_MODEL``), or Django's ``auth.User``."""
        if self.auth_user_model and "." in self.auth_user_model:
            label, _, name = self.auth_user_model.rpartition(".")
            found = self.models_by_label.get((label, name))
            if found is not None:
                return found
            unique = self.unique_model(name)
            if unique is not None:
                return unique
        return "django.contrib.auth.models.User"

    # -- serializers -----------------------------------------------------------------------------

    def _serializer(self, qualname: str, stack: set[str] | None = None) -> Serializer:
        existing = self.serializers.get(qualname)
        if existing is not None:
            return existing
        module, facts = self.classes[qualname]
        serializer = Serializer(qualname, module)
        self.serializers[qualname] = serializer
        stack = (stack or set()) | {qualname}
        for base in self._bases(qualname):
            if base in stack:
                continue
            if base in self.classes and self.kind(base) == "serializer":
                parent = self._serializer(base, stack)
                for name, declared in parent.declared.items():
                    serializer.declared.setdefault(name, declared)
                for name, method in parent.methods.items():
                    serializer.methods.setdefault(name, method)
                if serializer.model is None and parent.model is not None:
                    serializer.model = parent.model
                    serializer.meta_fields = parent.meta_fields
                    serializer.all_fields = parent.all_fields
                    serializer.depth = parent.depth
                    serializer.exclude = list(parent.exclude)
                    serializer.extra_kwargs = parent.extra_kwargs
                serializer.complete = serializer.complete and parent.complete
            elif base not in SERIALIZER_BASES:
                serializer.complete = False
        for name, call in facts.get("calls", {}).items():
            serializer.declared[name] = SerializerField(name, call, module)
        for name in facts.get("refs", {}):
            serializer.declared.pop(name, None)
        for name, method in facts.get("methods", {}).items():
            serializer.methods[name] = method
            serializer.declared.pop(name, None)
        meta = facts.get("meta")
        if meta:
            model = meta.get("model")
            if model is not None and model[0] == "ref":
                serializer.model = model[1]
            fields = meta.get("fields")
            if fields is not None or "exclude" in meta:
                # a Meta without either inherits them (``class Meta(Base.Meta)``)
                serializer.meta_fields = None
                serializer.all_fields = False
            if fields is not None:
                if fields == ["str", "__all__"]:
                    serializer.all_fields = True
                elif fields[0] == "list":
                    serializer.meta_fields = self._field_names(module, fields[1], stack)
            exclude = meta.get("exclude")
            if exclude is not None and exclude[0] == "list":
                serializer.exclude = self._field_names(module, exclude[1], stack) or []
                serializer.all_fields = True
            extra = meta.get("extra_kwargs")
            if extra is not None and extra[0] == "list":
                serializer.extra_kwargs = {}
                for entry in extra[1]:
                    field_name, option, value = (str(_literal(e)) for e in entry[1])
                    serializer.extra_kwargs.setdefault(field_name, {})[option] = value
            depth = _literal(meta.get("depth"))
            serializer.depth = (
                depth if isinstance(depth, int) and not isinstance(depth, bool) else 0
            )
        return serializer

    def _field_names(self, module: str, items: list[Encoded], stack: set[str]) -> list[str] | None:
        """The names of a ``Meta.fields`` list, with ``Base.Meta.fields`` items spliced in
        (``None`` when one cannot be known)."""
        names: list[str] = []
        for item in items:
            if item[0] == "str":
                names.append(str(item[1]))
                continue
            if item[0] != "ref" or not item[1].endswith(".Meta.fields"):
                return None
            base = self.resolve(module, item[1][: -len(".Meta.fields")])
            if base in stack or base not in self.classes or self.kind(base) != "serializer":
                return None
            inherited = self._serializer(base, stack).meta_fields
            if inherited is None:
                return None
            names.extend(inherited)
        return names

    # -- queries for the rules ---------------------------------------------------------------------

    def model_named(self, module: str, dotted: str) -> Model | None:
        """The model a class name used in ``module`` denotes (also ``User = get_user_model()``)."""
        qualified = self.resolve(module, dotted)
        found = self.models.get(qualified)
        if found is not None:
            return found
        owner, _, name = qualified.rpartition(".")
        for candidate, alias in ((module, dotted), (owner, name)):
            encoded = self.modules.get(candidate, {}).get("aliases", {}).get(alias)
            if encoded is not None:
                target = self.model_ref(candidate, encoded)
                return self.models.get(target) if target is not None else None
        return None

    def serializer_named(self, module: str, dotted: str) -> Serializer | None:
        """The serializer a class name used in ``module`` denotes."""
        return self.serializers.get(self.resolve(module, dotted))

    def class_kind(self, module: str, dotted: str) -> str | None:
        """The kind of the class a name used in ``module`` denotes."""
        return self.kind(self.resolve(module, dotted))


def _qualified_returns(module: str, facts: Mapping[str, Any], returns: list[Any]) -> list[Any]:
    """A summary's returned querysets with their models' names made absolute."""
    from flake8_djguide.index.functions import rooted

    def change(dotted: str) -> str:
        if dotted.startswith("@"):
            return f"{module}.{dotted[1:]}"
        return absolute(module, dotted, facts.get("package"))

    return [rooted(encoded, change) for encoded in returns]


def _copy(relation: Relation) -> Relation:
    return Relation(relation.name, relation.kind, relation.target, relation.null, relation.through)


def _inherit_pending(model: Model, parent: Model) -> None:
    """Fields of an abstract parent are declared again on each concrete child."""
    ancestors = set(getattr(model, "_ancestors", set()))
    ancestors.add(parent.qualname)
    ancestors |= set(getattr(parent, "_ancestors", set()))
    model._ancestors = ancestors  # type: ignore[attr-defined]
    pending = dict(getattr(model, "_pending", {}))
    if parent.abstract:
        for attr, info in getattr(parent, "_pending", {}).items():
            pending.setdefault(attr, info)
    model._pending = pending  # type: ignore[attr-defined]


def _literal(encoded: Encoded | None) -> Any:
    """The Python value of an encoded literal, or ``None``."""
    if not encoded:
        return None
    if encoded[0] in ("str", "num", "bool"):
        return encoded[1]
    if encoded[0] == "list":
        return [_literal(e) for e in encoded[1]]
    return None


def absolute(module: str, origin: str, package: str | None = None) -> str:
    """Make a relative import origin (``..models.Product``) absolute from ``module``."""
    if not origin.startswith("."):
        return origin
    level = len(origin) - len(origin.lstrip("."))
    rest = origin[level:]
    base = package if package is not None else module.rpartition(".")[0]
    parts = base.split(".") if base else []
    if level - 1 > len(parts):
        return rest
    parts = parts[: len(parts) - (level - 1)]
    return ".".join([*parts, rest] if rest else parts)


def app_label_of(module: str) -> str:
    """Django's default app label for a model module: the package holding ``models``."""
    parts = module.split(".")
    if "models" in parts:
        index = parts.index("models")
        if index > 0:
            return parts[index - 1]
    return parts[-2] if len(parts) >= 2 else parts[0]


def _external_kind(qualname: str) -> str | None:
    if qualname in MODEL_BASES or qualname in _AUTH_ABSTRACT:
        return "model"
    if qualname in SERIALIZER_BASES:
        return "serializer"
    if qualname in MANAGER_BASES:
        return "manager"
    if qualname in QUERYSET_BASES:
        return "queryset"
    if qualname in BUILTIN_MODELS:
        return "model"
    return None


#: Module names of third-party packages that hold managers and querysets.
_MANAGER_MODULES = frozenset({"managers", "manager", "querysets", "queryset", "query", "models"})


def _third_party_manager(index: Index, module: str, facts: Mapping[str, Any]) -> str | None:
    """``manager`` or ``queryset`` for a class deriving from a third-party class named like
    one, from a ``managers``/``querysets``/``models`` module (``mptt.managers.TreeManager``,
    ``mptt.querysets.TreeQuerySet``, ``polymorphic.managers.PolymorphicManager``,
    ``django.contrib.auth.models.BaseUserManager``): Django managers and querysets."""
    for base in facts.get("bases", ()):
        if not base:
            continue
        resolved = index.resolve(module, base)
        if resolved in index.classes or "." not in resolved:
            continue
        package, _, last = resolved.rpartition(".")
        if not _MANAGER_MODULES & set(package.split(".")):
            continue
        if last.endswith("QuerySet"):
            return "queryset"
        if last.endswith("Manager"):
            return "manager"
    return None


def _third_party_serializer(index: Index, module: str, facts: Mapping[str, Any]) -> bool:
    """A class with a ``Meta.model`` deriving from a third-party class named like a
    serializer (``PolymorphicSerializer``, ``FlexFieldsModelSerializer``): a serializer
    whose base renders its fields as DRF's does."""
    model = facts.get("meta", {}).get("model")
    if model is None or model[0] != "ref":
        return False
    return any(
        base.rsplit(".", 1)[-1].endswith("Serializer")
        and index.resolve(module, base) not in index.classes
        for base in facts.get("bases", ())
        if base
    )


def _looks_like_model(index: Index, module: str, facts: Mapping[str, Any]) -> bool:
    """A class whose bases are all unknown (third-party, or project classes of no known
    kind) and that declares Django model fields: a model, or an abstract model base.

    Serializers, forms and filters also assign ``x = ...Field(...)``, so what counts is
    where the field constructors come from (:func:`_field_origin`): one field of
    ``django.db.models`` (``models.CharField``, or a name imported from a ``models``
    module) is enough; a field of a third-party ``fields``/``db`` module (``mptt.fields``,
    ``django_extensions.db.fields``) counts when the class also has ``Meta.abstract =
    True`` or a base from a ``models`` module (``model_utils.models.TimeStampedModel``).
    An abstract ``Meta`` with such a base and no field of its own is a model base too.
    """
    bases = [b for b in facts.get("bases", ()) if b]
    if not bases:
        return False
    weak = False
    for call in facts.get("calls", {}).values():
        origin = _field_origin(index, module, call)
        if origin == "model":
            return True
        weak = weak or origin == "third-party"
    meta = facts.get("meta") or {}
    abstract = _literal(meta.get("abstract")) is True
    if weak and abstract:
        return True
    if not (weak or abstract):
        return False
    return any(_in_models_module(index.resolve(module, base)) for base in bases)


#: Name parts of field constructors that are not model fields (DRF, forms, filters...).
_NOT_MODEL_FIELDS = frozenset(
    {
        "forms",
        "serializers",
        "rest_framework",
        "django_filters",
        "filters",
        "graphene",
        "graphene_django",
        "marshmallow",
        "wtforms",
        "import_export",
        "ninja",
        "strawberry",
        "widgets",
    }
)
_FIELD_SUFFIXES = ("Field", "ForeignKey", "Key")


def _field_origin(index: Index, module: str, call: Encoded) -> str | None:
    """``model`` for a field constructor of Django (``models.CharField(...)``, ``CharField``
    imported from ``django.db.models``, ``django.contrib.postgres.fields.ArrayField``) or
    of any ``models`` module (``<x>.models.<Y>Field``), ``third-party`` for a field of
    another ``fields``/``db`` module (``mptt.fields.TreeForeignKey``), else None."""
    if not call or call[0] != "call" or call[1][0] != "ref":
        return None
    raw = call[1][1]
    last = raw.rsplit(".", 1)[-1]
    if not (last.endswith(_FIELD_SUFFIXES) or last in _RELATION_CALLS):
        return None
    qualified = index.resolve(module, raw)
    owner = qualified.rpartition(".")[0]
    parts = owner.split(".")
    if _NOT_MODEL_FIELDS.intersection(parts):
        return None
    if (
        parts[-1] == "models"
        or raw.startswith("models.")
        or owner.startswith("django.db.models.")
        or (parts[0] == "django" and "fields" in parts)
    ):
        return "model"
    if {"fields", "models", "db"}.intersection(parts):
        return "third-party"
    return None


def _in_models_module(qualname: str) -> bool:
    """Whether a class's qualified name is in a ``models`` module (``model_utils.models.X``,
    ``django_extensions.db.models.X``)."""
    return "models" in qualname.split(".")[:-1]


# Django's own models that project models point at most: auth and contenttypes.
BUILTIN_MODELS = {
    "django.contrib.auth.models.User": ("auth", "User"),
    "django.contrib.auth.models.Group": ("auth", "Group"),
    "django.contrib.auth.models.Permission": ("auth", "Permission"),
    "django.contrib.contenttypes.models.ContentType": ("contenttypes", "ContentType"),
}
_USER_FIELDS = [
    "username",
    "first_name",
    "last_name",
    "email",
    "is_staff",
    "is_active",
    "date_joined",
    "password",
    "last_login",
    "is_superuser",
]


def _add_auth_user_fields(model: Model) -> None:
    model.fields.update(_USER_FIELDS)
    model.relations.setdefault(
        "groups", Relation("groups", "m2m", "django.contrib.auth.models.Group")
    )
    model.relations.setdefault(
        "user_permissions",
        Relation("user_permissions", "m2m", "django.contrib.auth.models.Permission"),
    )


def _add_builtin_models(index: Index) -> None:
    for qualname, (label, name) in BUILTIN_MODELS.items():
        if qualname in index.models:
            continue
        module = qualname.rpartition(".")[0]
        model = Model(qualname, name, module, label)
        if name == "User":
            _add_auth_user_fields(model)
        elif name == "Group":
            model.fields.add("name")
            model.relations["permissions"] = Relation(
                "permissions", "m2m", "django.contrib.auth.models.Permission"
            )
        elif name == "Permission":
            model.fields.update(("name", "codename"))
            model.relations["content_type"] = Relation(
                "content_type", "fk", "django.contrib.contenttypes.models.ContentType"
            )
        else:
            model.fields.update(("app_label", "model"))
        model.complete = False  # reverse accessors from other installed apps are unknown
        index.models[qualname] = model
        index.models_by_label.setdefault((label, name), qualname)
    user = index.models["django.contrib.auth.models.User"]
    user.relations.setdefault(
        "groups", Relation("groups", "m2m", "django.contrib.auth.models.Group")
    )


def link(modules: Iterable[tuple[str, dict[str, Any]]]) -> Index:
    """Link module facts (``(module name, facts)`` pairs) into an :class:`Index`."""
    return Index(dict(modules))
