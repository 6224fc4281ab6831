"""What the index keeps of a returned local name (``index/extract.py``, ``_local_returns``)."""

from __future__ import annotations

import ast
import textwrap

from flake8_djguide.index.extract import _local_returns


def _returns(source: str) -> list[object]:
    function = ast.parse(textwrap.dedent(source)).body[0]
    assert isinstance(function, ast.FunctionDef)
    return _local_returns(function)


def _calls(encoded: object) -> list[str]:
    """The method names of an encoded call chain, innermost first."""
    names: list[str] = []
    while isinstance(encoded, list) and encoded and encoded[0] == "call":
        func = encoded[1]
        if func[0] == "attr":
            names.append(func[2])
            encoded = func[1]
        else:
            names.append(func[1])
            break
    return names[::-1]


def test_loading_calls_on_the_name_are_applied_in_order() -> None:
    (found,) = _returns(
        """
        def listed(self, tag=None):
            docs = self.filter(hidden=False).order_by("slug")
            if tag:
                docs = docs.filter(tags__name=tag)
            docs = docs.select_related("author")
            docs = docs.defer("html")
            return docs
        """
    )
    assert _calls(found) == ["self.filter", "order_by", "select_related", "defer"]


def test_only_or_defer_on_one_branch_leaves_the_name_unknown() -> None:
    assert _returns(
        """
        def listed(self, slim=False):
            docs = self.filter(hidden=False)
            if slim:
                docs = docs.only("title")
            return docs
        """
    ) == [["ref", "docs"]]


def test_select_related_on_one_branch_counts_as_loading() -> None:
    (found,) = _returns(
        """
        def listed(self, full=False):
            docs = self.filter(hidden=False)
            if full:
                docs = docs.select_related("author")
            return docs
        """
    )
    assert _calls(found) == ["self.filter", "select_related"]


def test_other_uses_of_the_name_leave_it_unknown() -> None:
    assert _returns(
        """
        def listed(self):
            docs = self.filter(hidden=False)
            docs = sorted(docs.select_related("author"), key=len)
            return docs
        """
    ) == [["ref", "docs"]]


def test_a_long_chain_keeps_its_head() -> None:
    chain = "".join(f'.exclude(slug__startswith="{n}:")' for n in range(12))
    (found,) = _returns(f"def listed(self):\n    return self.filter(hidden=False){chain}\n")
    assert _calls(found) == ["self.filter", *["exclude"] * 12]
