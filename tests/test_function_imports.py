"""The model index resolves names that functions import (``from app.models import Note``
inside a receiver, to avoid an import cycle) when the name can only mean one thing."""

from __future__ import annotations

import ast

from flake8_djguide.index.extract import function_imports, import_map

SOURCE = """
from django.db import models as db
from shop.models import Product


def receiver(sender, **kwargs):
    from shop.models import Order
    from .utils import helper
    from catalog import models

    return Order, helper, models


def other():
    from shop.models import Order
    from billing.models import Invoice as Item

    return Order, Item


def third():
    from catalog.models import Item
    from shop.models import Product

    return Item, Product


class Report:
    def run(self):
        import reports.tasks as tasks

        return tasks


helper_table = {}
for Shadow in ():
    pass


def fourth():
    from shop.models import Shadow

    return Shadow
"""


def test_function_imports_join_the_module_map() -> None:
    tree = ast.parse(SOURCE)
    imports, stars = import_map(tree)
    assert stars == []
    assert imports["Order"] == "shop.models.Order"
    assert imports["helper"] == ".utils.helper"
    assert imports["models"] == "catalog.models"
    assert imports["tasks"] == "reports.tasks"
    assert imports["db"] == "django.db.models"
    assert imports["Product"] == "shop.models.Product"
    assert function_imports(tree) == {"Order", "helper", "models", "tasks"}


def test_ambiguous_or_shadowed_names_stay_out() -> None:
    tree = ast.parse(SOURCE)
    imports, _ = import_map(tree)
    assert "Item" not in imports  # two origins
    assert "Shadow" not in imports  # a module-level loop binds it
    assert "Item" not in function_imports(tree)


def test_without_function_imports_the_map_is_the_module_level_one() -> None:
    tree = ast.parse("from a import b\nimport c.d\n\n\ndef f():\n    return b\n")
    assert import_map(tree) == ({"b": "a.b", "c": "c"}, [])
    assert function_imports(tree) == frozenset()
