"""Function summaries (:mod:`flake8_djguide.index.functions`): what they say of a
function's body, how the index keeps them (qualified, cached, kept when compacted)."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

from flake8_djguide.index import build
from flake8_djguide.index.functions import function_summaries
from flake8_djguide.index.store import valid_facts
from tests.robust import ROOT

SHOP = (ROOT / "tests" / "fixtures" / "projects" / "orm_shop").resolve()

SOURCE = """
import functools
from catalog.models import Product
from .models import Review


def label(product, size):
    return f"{product.category.name} {product.owner_id} {product.tags.count()}"


def lines(products):
    return [f"{p.brand.name}" for p in products]


def count(product):
    return Review.objects.filter(product=product).count()


def maybe_count(product, cache):
    if product.pk not in cache:
        cache[product.pk] = Review.objects.filter(product=product).count()
    return cache[product.pk]


@functools.lru_cache
def cached_count(product):
    return Review.objects.filter(product=product).count()


def scan(product, full):
    before = Review.objects.count()
    if full:
        Review.objects.filter(product=product).delete()
    product.save()
    return Review.objects.count() - before


def rebound(product):
    product = product.parent
    return product.category.name


def published():
    return Product.objects.filter(status="published")


def branches(user):
    products = Product.objects.select_related("category")
    if user.is_staff:
        products = products.filter(status="published")
    return products


def loads_in_a_branch(user):
    products = Product.objects.all()
    if user.is_staff:
        products = products.select_related("category")
    return products


def not_always_a_queryset(user):
    if user.is_staff:
        return Product.objects.all()
    return []


def visible(user, queryset, hidden=None):
    try:
        queryset = queryset.filter(deleted=False)
    except ValueError:
        pass
    if hidden:
        queryset = queryset.exclude(pk__in=hidden)
    return queryset.distinct()


def page_of(request, rows, per_page, count=True):
    page = request.GET.get("page", 1)
    size = request.GET.get("size", per_page)
    paginator = Paginator(rows, size)
    page = paginator.get_page(page)
    if count:
        page.total = paginator.count
    return page


def paginate(request, rows, per_page):
    return page_of(request, rows, per_page, count=False)


def loads_what_it_is_given(queryset):
    return queryset.select_related("category")


def listed(queryset):
    return list(queryset)


def one_of_two(first, second, flag):
    if flag:
        return first.filter()
    return second


def refined_local():
    products = Product.objects.select_related("category")
    return products.filter(status="published")


class Reviewable:
    @property
    def title(self):
        return self.product.name

    def plain(self):
        return 1

    def stats(self):
        found = cache.get(f"stats-{self.pk}")
        if found is None:
            found = self.product.category.name
            cache.set(f"stats-{self.pk}", found)
        return found

    def own_memo(self):
        if self.pk in self._cache:
            return self._cache[self.pk]
        return self.product.name
"""


def _summaries() -> dict[str, Any]:
    return function_summaries(ast.parse(SOURCE))


def test_reads_rows_and_queries() -> None:
    found = _summaries()
    assert found["label"]["p"] == ["product", "size"]
    assert found["label"]["r"][0] == [["category", "name"], ["owner_id"], ["tags", "count()"]]
    assert found["label"]["r"][1] == []
    assert "d" not in found["label"]  # every parameter is required
    assert found["lines"]["rows"] == [[["brand", "name"]]]
    assert found["count"]["q"] == ["Review", "count"]
    assert found["Reviewable.title"]["prop"] == 1
    assert found["Reviewable.title"]["r"] == [[["product", "name"]]]


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("maybe_count", "q"),  # under an if: a memoized look-up
        ("cached_count", "q"),  # lru_cache
        ("scan", "q"),  # it writes: a job of its own per call
        ("rebound", "r"),  # the parameter is assigned again
        ("not_always_a_queryset", "ret"),
        ("plain", "r"),
        ("Reviewable.stats", "r"),  # kept in a shared cache: read on a miss only
    ],
)
def test_what_is_not_sure_is_left_out(name: str, key: str) -> None:
    found = _summaries().get(name, {})
    assert not any(found.get(key, [])) if key == "r" else key not in found


def test_a_cache_kept_by_the_instance_is_no_memo() -> None:
    # each row is its own instance: the reads run once per row
    assert ["product", "name"] in _summaries()["Reviewable.own_memo"]["r"][0]


def test_returned_querysets_are_named_by_their_import_origin() -> None:
    found = _summaries()
    assert found["published"]["ret"] == [
        [
            "call",
            ["ref", "catalog.models.Product.objects.filter"],
            [],
            {"status": ["str", "published"]},
        ]
    ]
    # the branch only filters: what is returned is the first assignment
    assert found["branches"]["ret"] == [
        [
            "call",
            ["ref", "catalog.models.Product.objects.select_related"],
            [["str", "category"]],
            {},
        ]
    ]
    # a branch loads more: both querysets (what either loads counts as loaded)
    assert found["loads_in_a_branch"]["ret"] == [
        ["call", ["ref", "catalog.models.Product.objects.all"], [], {}],
        [
            "call",
            [
                "attr",
                ["call", ["ref", "catalog.models.Product.objects.all"], [], {}],
                "select_related",
            ],
            [["str", "category"]],
            {},
        ],
    ]
    assert "ret" not in found["count"]  # count() is no queryset


def test_rows_given_back() -> None:
    found = _summaries()
    assert found["visible"]["pass"] == 1  # refined in branches, then returned
    assert found["page_of"]["pass"] == 1  # a page of Paginator(rows, n)
    assert "pass" not in found["paginate"]
    # through another function: the parameters it is given, by argument position
    assert found["paginate"]["via"] == ["page_of", [[0, 0], [1, 1], [2, 2]]]
    for name in ("loads_what_it_is_given", "listed", "one_of_two"):
        assert "pass" not in found.get(name, {}), name
        assert "via" not in found.get(name, {}), name
    # ``return local.filter(...)``: the local's queryset with the calls of the return
    assert found["refined_local"]["ret"] == [
        [
            "call",
            [
                "attr",
                [
                    "call",
                    ["ref", "catalog.models.Product.objects.select_related"],
                    [["str", "category"]],
                    {},
                ],
                "filter",
            ],
            [],
            {"status": ["str", "published"]},
        ]
    ]


def test_the_index_keeps_summaries_qualified_and_when_compacted(tmp_path: Path) -> None:
    project = build(SHOP, tmp_path, compact=True)
    functions = project.index.functions
    assert functions["catalog.labels.category_label"]["r"] == [[["category", "name"], ["name"]]]
    assert functions["catalog.labels.published_products"]["ret"][0][1] == [
        "ref",
        "catalog.models.Product.objects.filter",
    ]
    assert "catalog.labels" not in project.index.modules  # no classes: compacted away


def test_valid_facts_checks_summaries() -> None:
    good = {"imports": {}, "classes": [], "functions": {"f": {"p": ["a"], "r": [[["b"]]]}}}
    assert valid_facts(good)
    given = {"p": ["a", "b"], "pass": 1}
    assert valid_facts({"imports": {}, "classes": [], "functions": {"f": given}})
    through = {"p": ["a", "b"], "via": ["g", [[1, 0]]]}
    assert valid_facts({"imports": {}, "classes": [], "functions": {"f": through}})
    for bad in (
        {"p": ["a"], "r": [[["b"]], []]},  # one list per parameter
        {"p": ["a"], "q": ["Review"]},
        {"p": ["a"], "prop": True},
        {"p": ["a"], "other": 1},
        {"p": ["a"], "pass": 1},  # no such parameter
        {"p": ["a"], "d": 2},  # more defaults than parameters
        {"p": ["a"], "d": 0},  # left out when none
        {"p": ["a"], "via": ["f", [[1, 0]]]},
        {"p": ["a"], "via": ["f", 0]},
        {"r": [[["b"]]]},
    ):
        assert not valid_facts({"imports": {}, "classes": [], "functions": {"f": bad}}), bad


def test_prefetched_lookups_through_relations_named_by_origin() -> None:
    from flake8_djguide.index.functions import prefetched_lookups

    tree = ast.parse(
        "from django.db.models import Prefetch\n"
        "from package.models import Package\n"
        "class Grid: pass\n"
        "def packages():\n"
        "    return Package.objects.select_related('category').prefetch_related(\n"
        "        Prefetch('gridpackage_set__grid'), 'usage', 'tags__owner',\n"
        "        Prefetch('versions__author', to_attr='authored'))\n"
        "def grids(qs):\n"
        "    Grid.objects.prefetch_related('feature_set__element_set')\n"
        "    return qs.prefetch_related('packages__category')\n"
    )
    assert prefetched_lookups(tree) == [
        ["package.models.Package", "gridpackage_set__grid", "usage", "tags__owner"],
        ["@Grid", "feature_set__element_set"],
    ]


def test_defaults_are_counted() -> None:
    source = "def label(product, width=8, *, sep='-'):\n    return product.category.name[:width]\n"
    found = function_summaries(ast.parse(source))
    assert found["label"]["p"] == ["product", "width"]
    assert found["label"]["d"] == 1
    assert valid_facts({"imports": {}, "classes": [], "functions": found})


OWN_ROWS = """
class Order(models.Model):
    @property
    def positions(self):
        return self.all_positions.filter(canceled=False).order_by("pk")

    @cached_property
    def live_positions(self):
        return self.all_positions(manager="objects")

    @property
    def loaded_positions(self):
        return self.all_positions.select_related("item")

    @property
    def other_positions(self):
        return self.all_positions(manager=self.manager_name)

    def method_positions(self):
        return self.all_positions.filter(canceled=False)
"""


def test_a_property_returning_a_related_manager_gives_its_rows():
    found = function_summaries(ast.parse(OWN_ROWS))
    assert found["Order.positions"]["own"] == ["all_positions", ""]
    assert found["Order.live_positions"]["own"] == ["all_positions", "objects"]
    for name in ("loaded_positions", "other_positions", "method_positions"):
        assert "own" not in found.get(f"Order.{name}", {}), name
    facts = {"imports": {}, "classes": [], "functions": found}
    assert valid_facts(facts)
    broken = {**found, "Order.positions": {**found["Order.positions"], "own": ["", ""]}}
    assert not valid_facts({**facts, "functions": broken})
