"""The model index finds models wherever they come from: through module-qualified names,
on third-party abstract bases, and the many-to-many through models Django creates."""

from __future__ import annotations

from pathlib import Path

import pytest

from flake8_djguide.index import build
from flake8_djguide.index.project import Index, link


def _project(tmp_path: Path, files: dict[str, str]) -> Index:
    (tmp_path / "manage.py").write_text("")
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        for parent in path.relative_to(tmp_path).parents:
            if parent != Path("."):
                (tmp_path / parent / "__init__.py").touch()
        path.write_text(text)
    return build(tmp_path, None).index


THIRD_PARTY = """
from django.db import models
from django.db.models import CharField
from django.contrib.postgres.fields import ArrayField
from django_extensions.db.fields import AutoSlugField
from django_lifecycle import LifecycleModel
from model_utils.models import TimeStampedModel, SoftDeletableModel
from mptt.fields import TreeForeignKey
from mptt.models import MPTTModel
from polymorphic.models import PolymorphicModel
from sortedm2m.fields import SortedManyToManyField
from treebeard.mp_tree import MP_Node


class Category(MP_Node):
    name = CharField(max_length=100)

    class Meta(MP_Node.Meta):
        verbose_name = "category"


class TreeNode(MP_Node):
    label = models.CharField(max_length=255)

    class Meta(MP_Node.Meta):
        abstract = True


class Department(TreeNode):
    class Meta(TreeNode.Meta):
        db_table = "departments"


class Badge(TimeStampedModel):
    label = models.CharField(max_length=50)


class Keywords(PolymorphicModel):
    words = ArrayField(models.CharField(max_length=20))


class Tracked(LifecycleModel):
    status = models.CharField(max_length=20)

    class Meta:
        abstract = True


class Ticket(Tracked):
    department = models.ForeignKey(Department, on_delete=models.CASCADE)
    badge = models.ForeignKey(Badge, null=True, on_delete=models.SET_NULL)


class Section(MPTTModel):
    parent = TreeForeignKey("self", null=True, on_delete=models.CASCADE, related_name="kids")


class Slugged(LifecycleModel):
    slug = AutoSlugField(populate_from="pk")

    class Meta:
        abstract = True


class SoftBase(SoftDeletableModel):
    class Meta:
        abstract = True


class Page(Slugged):
    section = models.ForeignKey(Section, on_delete=models.CASCADE)
    related = SortedManyToManyField("self", symmetrical=False, blank=True)
"""


def test_models_on_third_party_bases(tmp_path: Path) -> None:
    index = _project(tmp_path, {"desk/models.py": THIRD_PARTY})
    kinds = {name: index.kind(f"desk.models.{name}") for name in ("Category", "Department")}
    assert kinds == {"Category": "model", "Department": "model"}
    models = index.models
    # CharField imported from django.db.models, on a treebeard base
    assert "department_set" not in models["desk.models.Category"].relations
    assert models["desk.models.TreeNode"].abstract  # Meta(MP_Node.Meta): abstract = True
    assert not models["desk.models.Department"].abstract
    assert "ticket_set" in models["desk.models.Department"].relations
    assert "ticket_set" in models["desk.models.Badge"].relations  # only a CharField of its own
    assert "desk.models.Keywords" in models  # ArrayField of django.contrib.postgres
    assert models["desk.models.Tracked"].abstract  # a django-lifecycle base with a CharField
    assert models["desk.models.Ticket"].relations["department"].target == "desk.models.Department"
    # a third-party field counts with a base from a models module, or Meta.abstract
    assert models["desk.models.Section"].relations["kids"].kind == "rev_fk"
    assert models["desk.models.Slugged"].abstract
    # AutoSlugField of django-extensions: a third-party field class could be a relation
    assert "slug" in models["desk.models.Page"].unknown
    assert models["desk.models.Page"].relations["related"].kind == "m2m"  # sortedm2m
    assert models["desk.models.Page"].relations["section"].target == "desk.models.Section"
    assert models["desk.models.SoftBase"].abstract  # Meta.abstract on a models-module base
    declared = [m for q, m in models.items() if q.startswith("desk.") and "_" not in m.name]
    assert len(declared) == 11 and not any(m.complete for m in declared)  # bases unknown
    assert "desk.models.Page_related" in models  # the through model of the sorted m2m


NOT_MODELS = """
import factory
from django import forms
from django_filters import rest_framework as filters
from import_export import fields, resources
from rest_framework import serializers
from rest_framework_gis.serializers import GeoFeatureModelSerializer
from third.models import Thing
from third.widgets import Picker


class PlaceSerializer(GeoFeatureModelSerializer):
    name = serializers.CharField()

    class Meta:
        abstract = True


class SearchForm(forms.Form):
    query = forms.CharField()


class PlaceFilter(filters.FilterSet):
    name = filters.CharFilter()


class PlaceResource(resources.ModelResource):
    name = fields.Field(attribute="name")


class PlaceFactory(factory.django.DjangoModelFactory):
    name = factory.Faker("name")

    class Meta:
        abstract = True


class ThingMixin(Thing):
    helper = Picker()


class Unrelated(SomethingElse):
    label = fields.Field(attribute="label")
"""


def test_serializers_forms_and_filters_are_not_models(tmp_path: Path) -> None:
    index = _project(tmp_path, {"places/api.py": NOT_MODELS})
    for name in (
        "PlaceSerializer",
        "SearchForm",
        "PlaceFilter",
        "PlaceResource",
        "PlaceFactory",
        "ThingMixin",
        "Unrelated",
    ):
        assert index.kind(f"places.api.{name}") is None, name
    assert not [q for q in index.models if q.startswith("places.")]


THROUGH = """
from django.conf import settings
from django.db import models


class Tag(models.Model):
    name = models.CharField(max_length=20)


class Tagged(models.Model):
    tags = models.ManyToManyField(Tag, blank=True)

    class Meta:
        abstract = True


class Article(Tagged):
    readers = models.ManyToManyField(settings.AUTH_USER_MODEL, through="Reading")
    related = models.ManyToManyField("self")


class Reading(models.Model):
    article = models.ForeignKey(Article, on_delete=models.CASCADE)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
"""


def test_many_to_many_through_models(tmp_path: Path) -> None:
    index = _project(tmp_path, {"news/models.py": THROUGH})
    article = index.models["news.models.Article"]
    # the through model Django creates for a field inherited from an abstract base
    auto = index.models[article.relations["tags"].through or ""]
    assert (auto.qualname, auto.name, auto.app_label) == (
        "news.models.Article_tags",
        "Article_tags",
        "news",
    )
    assert {n: (r.kind, r.target) for n, r in auto.relations.items()} == {
        "article": ("fk", "news.models.Article"),
        "tag": ("fk", "news.models.Tag"),
    }
    assert article.relations["readers"].through == "news.models.Reading"  # through=
    own = index.models[article.relations["related"].through or ""]
    assert set(own.relations) == {"from_article", "to_article"}  # to itself
    tag = index.models["news.models.Tag"]
    assert tag.relations["article_set"].through == "news.models.Article_tags"  # reverse side
    assert index.models["news.models.Tagged"].relations["tags"].through is None  # abstract
    assert "Article_tags" not in index.models_by_name  # not a model a name can denote
    assert index.unique_model("Tag") == "news.models.Tag"


@pytest.mark.parametrize(
    ("imports", "dotted"),
    [
        ("from news import models", "models.Article"),
        ("import news.models as m", "m.Article"),
        ("import news.models", "news.models.Article"),
        ("from news.models import Article as A", "A"),
        ("from ..news import models", "models.Article"),
        ("from shop import models", "models.Product"),  # a package re-exporting its models
        ("import shop.models as sm", "sm.Product"),
    ],
)
def test_module_qualified_model_names(tmp_path: Path, imports: str, dotted: str) -> None:
    index = _project(
        tmp_path,
        {
            "news/models.py": THROUGH,
            "shop/models/__init__.py": "from shop.models.product import Product\n",
            "shop/models/product.py": (
                "from django.db import models\n\n\nclass Product(models.Model):\n"
                "    name = models.CharField(max_length=10)\n"
            ),
            # a module is read when it defines a class (a checked file always is)
            "web/views.py": f"{imports}\n\n\nclass Page:\n    pass\n",
        },
    )
    found = index.model_named("web.views", dotted)
    assert found is not None and found.name in ("Article", "Product")


def test_a_file_alone_links_its_own_third_party_models() -> None:
    from flake8_djguide.index.extract import source_facts

    facts = source_facts(THIRD_PARTY.encode())
    index = link([("desk.models", {**facts, "package": "desk"})])
    assert index.kind("desk.models.Badge") == "model"
    assert index.kind("desk.models.Tracked") == "model"
