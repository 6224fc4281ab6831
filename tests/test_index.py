"""The project model index: its contents, and its JSON cache."""

from __future__ import annotations

import json
import multiprocessing
import os
from pathlib import Path

import pytest

from flake8_djguide import index as index_module
from flake8_djguide.index import build, cache_dir_for, prebuild
from flake8_djguide.index.project import Index
from flake8_djguide.index.store import cache_file_for, listing_signature, python_files, scan
from tests.util import FIXTURES

SHOP = (FIXTURES / "projects" / "orm_shop").resolve()

MODELS = """
from django.db import models


class Author(models.Model):
    name = models.CharField(max_length=100)


class Book(models.Model):
    author = models.ForeignKey(Author, on_delete=models.CASCADE, related_name="books")
    title = models.CharField(max_length=100)
"""


def make_project(root: Path, files: int = 3) -> Path:
    root.mkdir(parents=True)
    (root / "manage.py").write_text("")
    (root / "library").mkdir()
    (root / "library" / "__init__.py").write_text("")
    (root / "library" / "models.py").write_text(MODELS)
    for number in range(files):
        (root / "library" / f"mod{number}.py").write_text(f"class C{number}(object):\n    pass\n")
    return root


# -- contents -------------------------------------------------------------------------------------


def test_models_relations_and_reverse_accessors(tmp_path: Path) -> None:
    index = build(SHOP, tmp_path).index
    product = index.models["catalog.models.product.Product"]
    kinds = {name: (r.kind, r.target, r.null) for name, r in product.relations.items()}
    assert kinds["category"] == ("fk", "catalog.models.product.Category", False)
    assert kinds["brand"] == ("fk", "catalog.models.product.Brand", True)
    assert kinds["tags"] == ("m2m", "catalog.models.product.Tag", False)
    assert kinds["owner"] == ("fk", "accounts.models.User", False)  # abstract base, AUTH_USER_MODEL
    assert kinds["reviews"] == ("rev_fk", "catalog.models.product.Review", False)  # related_name
    assert kinds["productimage_set"][0] == "rev_fk"  # default accessor
    assert kinds["inventory"][0] == "rev_o2o"  # reverse one-to-one: the model name
    user = index.models["accounts.models.User"]
    assert "product_owned" in user.relations  # related_name="%(class)s_owned" on the abstract base
    assert "orders" in user.relations  # Order.customer = ForeignKey(get_user_model() alias)
    assert "groups" in user.relations  # from AbstractUser
    assert not any(r.target == "orders.models.OrderItem" for r in product.relations.values())  # "+"
    assert index.models["catalog.models.product.Category"].ordered
    assert index.models["core.models.OwnedModel"].abstract


def test_managers_and_querysets(tmp_path: Path) -> None:
    index = build(SHOP, tmp_path).index
    product = index.models["catalog.models.product.Product"]
    assert {"published", "with_category", "for_listing"} <= set(product.managers["objects"].methods)
    review = index.models["catalog.models.product.Review"]
    assert review.managers["objects"].get_queryset is not None


NEWSROOM = FIXTURES / "projects" / "newsroom"


@pytest.mark.parametrize("compact", [False, True], ids=["full", "compacted"])
def test_models_know_update_and_save_from_their_mixins(tmp_path: Path, compact: bool) -> None:
    index = build(NEWSROOM, tmp_path, compact=compact).index
    article = index.models["news.models.Article"]
    assert article.defines == {"update"}  # UpdateMixin, through the abstract BaseModel
    assert article.methods_known
    assert index.models["news.models.Author"].defines == frozenset()
    assert index.models["news.models.Author"].methods_known
    assert index.models["news.models.Subscription"].defines == {"save"}


def test_a_model_with_a_third_party_base_has_unknown_methods(tmp_path: Path) -> None:
    root = tmp_path / "project"
    (root / "shop").mkdir(parents=True)
    (root / "manage.py").write_text("")
    (root / "shop" / "__init__.py").write_text("")
    (root / "shop" / "models.py").write_text(
        "from django.db import models\n"
        "from django_extensions.db.models import TimeStampedModel\n\n\n"
        "class Order(TimeStampedModel):\n"
        "    customer = models.ForeignKey('auth.User', on_delete=models.CASCADE)\n"
    )
    order = build(root, tmp_path / "cache").index.models["shop.models.Order"]
    assert order.defines == frozenset() and not order.methods_known


def test_project_field_classes_and_third_party_fields(tmp_path: Path) -> None:
    root = tmp_path / "project"
    (root / "shop").mkdir(parents=True)
    (root / "manage.py").write_text("")
    (root / "shop" / "__init__.py").write_text("")
    (root / "shop" / "fields.py").write_text(
        "from django.db import models\n"
        "from money.fields import MoneyMixin\n\n\n"
        "class OwnerField(models.ForeignKey):\n    pass\n\n\n"
        "class SlugField(models.SlugField):\n    pass\n\n\n"
        "class LowerSlugField(SlugField):\n    pass\n\n\n"
        "class PriceField(MoneyMixin, models.DecimalField):\n    pass\n"
    )
    (root / "shop" / "models.py").write_text(
        "from django.db import models\n"
        "from filer.fields.image import FilerImageField\n\n"
        "from shop.fields import LowerSlugField, OwnerField, PriceField\n\n\n"
        "class Order(models.Model):\n"
        "    owner = OwnerField(on_delete=models.CASCADE)\n"
        "    slug = LowerSlugField()\n"
        "    price = PriceField()\n"
        "    image = FilerImageField(null=True, on_delete=models.SET_NULL)\n"
    )
    order = build(root, tmp_path / "cache").index.models["shop.models.Order"]
    assert order.relations["owner"].kind == "fk"  # derives from ForeignKey: not a plain field
    assert "slug" in order.fields and "owner" not in order.fields
    # a third-party base or field class: the index cannot tell what it is
    assert "price" not in order.fields and "price" not in order.relations
    assert order.unknown == {"price", "image"}


def test_serializers_follow_re_exports(tmp_path: Path) -> None:
    index = build(SHOP, tmp_path).index
    serializer = index.serializers["catalog.api.serializers.ProductDetailSerializer"]
    assert (
        serializer.model == "catalog.models.product.Product"
    )  # through catalog/models/__init__.py
    assert {"category", "tags", "reviews", "review_count"} <= set(serializer.declared)
    assert serializer.methods["get_review_count"]["reads"] == [["reviews", "count()"]]


# -- the cache --------------------------------------------------------------------------------------


def test_cache_is_plain_json(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p")
    result = scan(project, tmp_path / "cache")
    assert result.written and result.parsed == 6
    data = json.loads(result.cache_file.read_text(encoding="utf-8"))  # type: ignore[union-attr]
    assert data["root"] == str(project)
    assert set(data["files"]) == {"manage.py", "library/__init__.py", "library/models.py"} | {
        f"library/mod{n}.py" for n in range(3)
    }


def test_incremental_rebuild_parses_only_changed_files(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p")
    cache = tmp_path / "cache"
    scan(project, cache)
    warm = scan(project, cache)
    assert (warm.parsed, warm.reused, warm.written) == (0, 6, False)
    models = project / "library" / "models.py"
    models.write_text(
        MODELS + "\n\nclass Shelf(models.Model):\n    books = models.ManyToManyField(Book)\n"
    )
    stat = models.stat()
    os.utime(models, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    changed = scan(project, cache)
    assert (changed.parsed, changed.reused, changed.written) == (1, 5, True)
    assert "library.models.Shelf" in build(project, cache).index.models
    (project / "library" / "mod0.py").unlink()
    removed = scan(project, cache)
    assert removed.parsed == 0 and removed.written and len(removed.files) == 5


def test_corrupt_or_foreign_cache_is_ignored(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p")
    cache = tmp_path / "cache"
    path = cache_file_for(project, cache)
    cache.mkdir()
    for payload in (
        b"\x80\x04pickle",
        b"{not json",
        b'{"format": 1, "root": "x", "files": {}}',
        b"[]",
    ):
        path.write_bytes(payload)
        result = scan(project, cache)
        assert result.parsed == 6 and result.written
        assert json.loads(path.read_text(encoding="utf-8"))["root"] == str(project)


def test_unwritable_cache_dir_falls_back_to_memory(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p")
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the cache directory should be")
    result = scan(project, blocker / "cache")
    assert not result.written and result.errors
    assert "library.models.Book" in build(project, blocker / "cache").index.models
    assert sorted(tmp_path.iterdir()) == sorted([tmp_path / "p", blocker])


def _build_in_process(args: tuple[str, str]) -> int:
    root, cache = args
    return len(build(Path(root), Path(cache)).index.models)


def test_concurrent_builds_leave_a_valid_cache(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", files=40)
    cache = tmp_path / "cache"
    context = multiprocessing.get_context("spawn")
    with context.Pool(4) as pool:
        counts = pool.map(_build_in_process, [(str(project), str(cache))] * 8)
    assert len(set(counts)) == 1
    data = json.loads(cache_file_for(project, cache).read_text(encoding="utf-8"))
    assert len(data["files"]) == 43
    assert sorted(p.name for p in cache.iterdir()) == [
        ".gitignore",
        cache_file_for(project, cache).name,
    ]  # no temp files


def test_cache_dir_option(tmp_path: Path) -> None:
    assert cache_dir_for(tmp_path, "") == tmp_path / ".djguide_cache"
    assert cache_dir_for(tmp_path, "build/cache") == tmp_path / "build" / "cache"
    assert cache_dir_for(tmp_path, str(tmp_path / "abs")) == tmp_path / "abs"


def test_one_cache_per_repository_whatever_the_project_root(tmp_path: Path) -> None:
    # manage.py in src/ (the project root of the files under it) and .git plus
    # setup.cfg at the top (the project root of scripts/): one cache directory.
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "setup.cfg").write_text("[flake8]\n")
    (repo / "src" / "shop").mkdir(parents=True)
    (repo / "src" / "manage.py").write_text("")
    assert cache_dir_for(repo / "src", "") == repo / ".djguide_cache"
    assert cache_dir_for(repo, "") == repo / ".djguide_cache"
    assert cache_dir_for(repo / "src", "build/cache") == repo / "build" / "cache"
    # no repository marker above: the project root itself
    (tmp_path / "lone").mkdir()
    assert cache_dir_for(tmp_path / "lone", "") == tmp_path / "lone" / ".djguide_cache"


def test_the_cache_directory_ignores_itself_in_git(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", files=3)
    (project / ".git").mkdir()
    build(project, cache_dir_for(project, ""))
    cache = project / ".djguide_cache"
    assert (cache / ".gitignore").read_text().splitlines()[-1] == "*"
    # an existing .gitignore is kept; a configured directory that existed is left alone
    (cache / ".gitignore").write_text("custom\n")
    (cache / cache_file_for(project, cache).name).unlink()
    build(project, cache)
    assert (cache / ".gitignore").read_text() == "custom\n"
    mine = tmp_path / "mine"
    mine.mkdir()
    build(project, mine)
    assert not (mine / ".gitignore").exists()
    assert cache_file_for(project, mine).exists()


def test_prebuild_builds_each_project_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_project(tmp_path / "p")
    index_module.clear_memo()
    prebuild([str(project / "library")], {"cache-dir": str(tmp_path / "cache")})
    assert [key[0] for key in index_module._MEMO] == [str(project)]
    calls = []
    monkeypatch.setattr(index_module, "build", lambda *a, **k: calls.append(a))
    prebuild([str(project)], {"cache-dir": str(tmp_path / "cache")})
    assert calls == []
    prebuild([str(project / "library" / "models.py")], {})  # one file: built lazily instead
    assert calls == []
    index_module.clear_memo()


# -- the current file's facts over the project index ------------------------------------------------

VIEWS = """from library.models import Book


def titles():
    for book in Book.objects.all():
        print(book.author.name)
"""
MIGRATION = """from django.db import migrations

from library.models import Book


class Migration(migrations.Migration):
    dependencies = []


def titles():
    for book in Book.objects.all():
        print(book.author.name)
"""


@pytest.mark.parametrize(
    ("name", "code", "line"),
    [("views.py", VIEWS, 6), ("migrations/0002_titles.py", MIGRATION, 12)],
)
def test_a_module_defining_no_model_is_not_linked_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, code: str, line: int
) -> None:
    """A module whose facts the index lacks (no class: stored without imports; a
    migration: not read) gets the project index with its own imports, not a new link."""
    from flake8_djguide.registry import by_code
    from tests.util import lint

    root = make_project(tmp_path / "proj")
    path = root / "library" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(code)
    index_module.clear_memo()
    rule = by_code()["DJG201"]
    assert [(f.line, f.code) for f in lint(code, str(path), [rule])] == [(line, "DJG201")]
    links: list[int] = []
    real_link = index_module.link
    monkeypatch.setattr(index_module, "link", lambda m: links.append(1) or real_link(m))
    index_module._OVERLAYS.clear()
    assert [(f.line, f.code) for f in lint(code, str(path), [rule])] == [(line, "DJG201")]
    assert links == []  # the project index was reused (built once, above)
    # a module that defines a model does need the link
    with_model = (
        "from django.db import models\n" + code + "\n\nclass Shelf(models.Model):\n    pass\n"
    )
    lint(with_model, str(path), [rule])
    assert links == [1]


def test_a_run_on_one_file_hashes_only_that_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The index kept whole (a run on one file) hashes the checked module's indexed facts
    when it is checked, not every module's when it is built; the answer is the same."""
    from flake8_djguide.registry import by_code
    from tests.util import lint

    root = make_project(tmp_path / "proj", files=20)
    path = root / "library" / "views.py"
    path.write_text(VIEWS)
    index_module.clear_memo()
    hashed: list[str] = []
    real_text = index_module.facts_text
    monkeypatch.setattr(
        index_module, "facts_text", lambda facts: hashed.append("x") or real_text(facts)
    )
    rule = by_code()["DJG201"]
    assert [(f.line, f.code) for f in lint(VIEWS, str(path), [rule])] == [(6, "DJG201")]
    assert len(hashed) == 2  # the checked file's facts and its module's indexed ones
    (project,) = index_module._MEMO.values()
    assert set(project.digests) == {"library.views"}
    whole = build(root, None, compact=True)
    assert project.digest("library.views") == whole.digests["library.views"]
    assert project.digest("library.mod3") == whole.digests["library.mod3"]
    assert project.digest("library.nothing") is None
    # an edited file gets its own link, as before
    edited = VIEWS + "\n\nclass Shelf(models.Model):\n    pass\n"
    assert [f.code for f in lint(edited, str(path), [rule])] == ["DJG201"]


# -- the compacted index (built before flake8 forks its workers) -----------------------------------

EXAMPLE = (FIXTURES.parent.parent / "examples" / "shop").resolve()


def _names_looked_up(index: Index) -> set[tuple[str, str]]:
    """``(module, dotted name)`` pairs the rules may resolve: every import, class and base."""
    pairs: set[tuple[str, str]] = set()
    for module in index.modules:
        for name in index.imports_of(module):
            pairs |= {(module, name), (module, f"{name}.Model"), (module, f"{name}.objects")}
    for qualname, (module, facts) in index.classes.items():
        pairs.add((module, qualname.rpartition(".")[2]))
        pairs |= {(module, base) for base in facts.get("bases", ()) if base}
        pairs |= {(module, ref) for ref in facts.get("refs", {}).values()}
        for alias in index.modules.get(module, {}).get("aliases", {}):
            pairs.add((module, alias))
    return pairs


def _found(path: Path) -> list[tuple[int, int, str]]:
    from tests.util import lint

    return [(f.line, f.col, f.message) for f in lint(path.read_text(), str(path))]


@pytest.mark.parametrize("root", [SHOP, EXAMPLE], ids=["orm_shop", "example"])
def test_a_compacted_index_answers_as_the_full_one(tmp_path: Path, root: Path) -> None:
    full = build(root, tmp_path).index
    compact = build(root, tmp_path, compact=True).index
    assert compact.models == full.models and compact.models
    assert compact.serializers == full.serializers
    assert (compact.manager_names, compact.queryset_methods, compact.auth_user_model) == (
        full.manager_names,
        full.queryset_methods,
        full.auth_user_model,
    )
    assert compact.models_by_label == full.models_by_label
    assert set(compact.classes) == set(full.classes)
    for qualname, (module, facts) in full.classes.items():
        kept = compact.classes[qualname]
        assert kept[0] == module
        assert list(kept[1]["bases"]) == facts["bases"]
        assert kept[1].get("refs") == facts.get("refs")
        assert "calls" not in kept[1] and "methods" not in kept[1]  # what only linking reads
    pairs = _names_looked_up(full)
    assert len(pairs) > 50
    for module, name in sorted(pairs):
        assert compact.resolve(module, name) == full.resolve(module, name), (module, name)
        assert compact.class_kind(module, name) == full.class_kind(module, name)
        assert compact.model_named(module, name) == full.model_named(module, name)
        assert compact.serializer_named(module, name) == full.serializer_named(module, name)
    for module in full.modules:
        assert compact.imports_of(module) == full.imports_of(module)


def test_a_compacted_index_gives_the_same_findings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every file of the example project, checked against the index a flake8 run builds
    before forking (compacted) and against one built for a single file (kept whole)."""
    from tests.util import CACHE_DIR

    files = sorted(EXAMPLE.rglob("*.py"))
    index_module.clear_memo()
    prebuild([str(EXAMPLE)], {"cache-dir": CACHE_DIR})
    (project,) = index_module._MEMO.values()
    assert project._modules is None  # compacted: the facts are not kept
    builds: list[object] = []
    real_build = index_module.build
    monkeypatch.setattr(index_module, "build", lambda *a: builds.append(a) or real_build(*a))
    compacted = {path: _found(path) for path in files}
    assert builds == []  # the prebuilt (compacted) index was used
    index_module.clear_memo()
    whole = {path: _found(path) for path in files}
    assert len(builds) == 1 and builds[0][-1] is False  # built lazily, kept whole
    assert compacted == whole
    assert sum(map(len, whole.values())) > 20
    index_module.clear_memo()


SHELF = """from django.db import models

from library.models import Book


class Shelf(models.Model):
    book = models.ForeignKey(Book, on_delete=models.CASCADE, related_name="shelves")


def authors():
    for book in Book.objects.all():
        print(book.author.name, book.shelves.count())
"""


def test_a_compacted_index_links_a_changed_module_again(tmp_path: Path) -> None:
    """A checked file whose facts differ from the indexed ones (edited since, or sent on
    stdin) is linked with the project's facts, read again from the cache."""
    from flake8_djguide.registry import by_code
    from tests.util import CACHE_DIR, lint

    root = make_project(tmp_path / "proj")
    path = root / "library" / "mod0.py"
    rule = by_code()["DJG201"]
    index_module.clear_memo()
    prebuild([str(root / "library")], {"cache-dir": CACHE_DIR})
    (project,) = index_module._MEMO.values()
    assert project._modules is None
    found = [(f.line, f.message) for f in lint(SHELF, str(path), [rule])]
    assert project._modules is not None  # read again to link the changed module
    assert "library.mod0.Shelf" not in project.index.models  # the project index is kept
    index_module.clear_memo()
    assert [(f.line, f.message) for f in lint(SHELF, str(path), [rule])] == found
    assert [(line, message.split("; ")[1]) for line, message in found] == [
        (12, 'add `.select_related("author")` to that queryset'),  # Book, from the project
        # Shelf, from this file: its reverse relation, counted
        (
            12,
            'add `.annotate(shelves_count=Count("shelves"))` to that queryset and read '
            "`book.shelves_count` (a prefetch would load every related row to count them)",
        ),
    ]
    index_module.clear_memo()


PREFETCHING = """from django.db import models

from library.models import Book


class Shelf(models.Model):
    book = models.ForeignKey(Book, on_delete=models.CASCADE)


def authors():
    for book in Book.objects.prefetch_related("author"):
        print(book.author.name)
    for book in Book.objects.all():
        print(book.author.name)
"""


def test_an_unchanged_module_with_prefetches_keeps_the_compacted_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The facts only the index extracts (function summaries, prefetch lookups) are left
    out of the match: an unchanged checked file that defines a model and calls
    ``prefetch_related()`` gets the project index, without reading every module's facts
    again to link it (in each flake8 worker, once per such file)."""
    from flake8_djguide.registry import by_code
    from tests.util import CACHE_DIR, lint

    root = make_project(tmp_path / "proj")
    path = root / "library" / "shelves.py"
    path.write_text(PREFETCHING)
    rule = by_code()["DJG201"]
    index_module.clear_memo()
    prebuild([str(root / "library")], {"cache-dir": CACHE_DIR})
    (project,) = index_module._MEMO.values()
    links: list[int] = []
    real_link = index_module.link
    monkeypatch.setattr(index_module, "link", lambda m: links.append(1) or real_link(m))
    found = [(f.line, f.code) for f in lint(PREFETCHING, str(path), [rule])]
    assert found == [(14, "DJG201")]  # the loop without the prefetch
    assert links == [] and project._modules is None  # no link, no facts read again
    edited = PREFETCHING.replace("Shelf", "Case")
    assert [(f.line, f.code) for f in lint(edited, str(path), [rule])] == [(14, "DJG201")]
    assert links == [1]  # a changed module is linked again, as before
    index_module.clear_memo()


def test_the_listing_signature_is_the_listing_of_python_files(tmp_path: Path) -> None:
    """The check server's quick listing sees exactly the files the index reads."""
    for rel in (
        "manage.py",
        "shop/__init__.py",
        "shop/models.py",
        "shop/deep/er/views.py",
        "shop/notes.txt",
        ".hidden/models.py",
        "node_modules/x.py",
        "venv/lib/models.py",
        "shop/__pycache__/models.py",
    ):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x = 1\n")
    (tmp_path / "venv" / "pyvenv.cfg").write_text("")
    listing, truncated = python_files(tmp_path, 100)
    assert not truncated
    assert sorted(rel for rel, _, _ in listing) == [
        "manage.py",
        "shop/__init__.py",
        "shop/deep/er/views.py",
        "shop/models.py",
    ]
    before = listing_signature(tmp_path, 100)
    assert before == hash(frozenset(listing))
    assert listing_signature(tmp_path, 2) == hash(frozenset(python_files(tmp_path, 2)[0]))
    (tmp_path / "shop" / "models.py").write_text("x = 22\n")  # another size
    assert listing_signature(tmp_path, 100) != before


def test_an_index_built_for_a_run_leaves_the_collectors_view(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A flake8 run keeps its index to the end: it is frozen (``gc.freeze()``) once built, so
    that no collection traverses it; the check server, which drops an index when the project
    changes, leaves its indexes to the collector."""
    import gc

    from flake8_djguide.config import resolve

    project = make_project(tmp_path / "p")
    settings = resolve(str(project / "library" / "models.py"), {"cache-dir": str(tmp_path / "c")})
    frozen: list[int] = []
    monkeypatch.setattr(gc, "freeze", lambda: frozen.append(1))
    index_module.clear_memo()
    try:
        first = index_module.project_index(settings, project)
        assert frozen == [1]
        assert index_module.project_index(settings, project) is first  # built once, frozen once
        assert frozen == [1]
        monkeypatch.setattr(index_module, "_FREEZE_BUILT", [True])  # restored after the test
        index_module.keep_collecting()
        index_module.clear_memo()
        assert index_module.project_index(settings, project) is not first
        assert frozen == [1]
    finally:
        index_module.clear_memo()


def test_equal_strings_of_the_cache_are_one_object_where_the_index_is_kept(
    tmp_path: Path,
) -> None:
    """Shared by the workers of a run (or kept by the check server), the index makes equal
    import origins one object; a run on one file, which exits when done, does not."""
    project = tmp_path / "p"
    (project / "shop").mkdir(parents=True)
    (project / "manage.py").write_text("")
    (project / "shop" / "__init__.py").write_text("")
    for name in ("a", "b"):
        (project / "shop" / f"{name}.py").write_text(
            "from django.db import models\n\n\nclass A(models.Model):\n    pass\n"
        )
    cache = tmp_path / "cache"
    scan(project, cache)  # the cache file, read below
    shared = scan(project, cache, share=True).files
    assert shared["shop/a.py"]["imports"]["models"] is shared["shop/b.py"]["imports"]["models"]
    apart = scan(project, cache, share=False).files
    assert apart["shop/a.py"]["imports"]["models"] == apart["shop/b.py"]["imports"]["models"]
    assert apart["shop/a.py"]["imports"]["models"] is not apart["shop/b.py"]["imports"]["models"]
