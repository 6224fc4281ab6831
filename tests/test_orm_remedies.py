"""The remedies DJG202, DJG203 and DJG204 name, on their fixtures: what a finding leaves out of its
message matters as much as whether it fires."""

from __future__ import annotations

import pytest

from tests.util import FIXTURES, lint, load_fixture


def _messages(name: str) -> dict[int, str]:
    fixture = load_fixture(FIXTURES / "orm" / name)
    findings = lint(fixture.code, fixture.lint_path, fixture.rules, fixture.options)
    return {f.line: f.message for f in findings}


def _line(name: str, text: str) -> int:
    lines = (FIXTURES / "orm" / name).read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, 1) if text in line)


def test_annotated_field_stays_out_of_the_remedy() -> None:
    messages = _messages("DJG203_gallery.py")
    line = _line("DJG203_gallery.py", "class OwnerlessAlbumList") + 2
    assert "`owner_name`" in messages[line]
    assert "photo_count" not in messages[line]
    assert messages[line].endswith('add `.select_related("owner")`')


def test_annotation_of_another_name_serves_nothing() -> None:
    messages = _messages("DJG203_gallery.py")
    line = _line("DJG203_gallery.py", "class SharedAlbumViewSet") + 4
    assert "`photo_count`" in messages[line]
    assert 'prefetch_related("photos")' in messages[line]


def test_back_reference_stays_out_of_the_remedy() -> None:
    messages = _messages("DJG203_gallery.py")
    line = _line("DJG203_gallery.py", "class BookCoverList") + 1
    assert messages[line].endswith('add `.select_related("cover")`')
    assert "cover__book" not in messages[line]
    assert "chapters" not in messages[line]


def test_catalog_read_elsewhere_keeps_the_identifier_remedy() -> None:
    messages = _messages("DJG204_catalog.py")
    drop = _line("DJG204_catalog.py", "def drop_listed_indexes") + 4
    assert "quote_name()" in messages[drop]
    rename = _line("DJG204_catalog.py", "def rename_tags") + 4
    assert "`%s` placeholders" in messages[rename]


_RANGE_REMEDY = "which `__in` cannot batch: fetch the candidate rows once before the loop"


def test_range_only_per_row_filters_name_the_range_remedy() -> None:
    messages = _messages("DJG202_ranges.py")
    for function, offset, lookups in (
        ("def daily_products", 5, "(`created__gte`, `created__lt`)"),
        ("def previous_product", 2, "(`created__lt`)"),
        ("def similar_products", 4, "(`price__range`)"),
        ("def reviews_in_band", 2, "(`rating__lte`, `rating__gte`)"),
    ):
        message = messages[_line("DJG202_ranges.py", function) + offset]
        assert _RANGE_REMEDY in message, function
        assert f"by range {lookups}" in message, function
        assert "`OuterRef(...)`" in message
        assert "__in=...)" not in message


def test_a_per_row_equality_keeps_the_in_remedy() -> None:
    messages = _messages("DJG202_ranges.py")
    for function in ("def owner_since", "def cheap_in_category"):
        message = messages[_line("DJG202_ranges.py", function) + 2]
        assert message.endswith("(`filter(pk__in=...)` or `in_bulk()`)"), function
        assert "by range" not in message
    either = messages[_line("DJG202_ranges.py", "def recent_or_owned") + 6]
    assert either.endswith("(`filter(<field>__in=...)`) and group them in a dict")
    counts = messages[_line("DJG202_ranges.py", "def daily_counts") + 1]
    assert counts.endswith("(`annotate()`, or `values(...).annotate(...)`)")


def test_prefetch_remedy_on_an_iterator_names_the_chunk_size() -> None:
    messages = _messages("DJG201_remedies.py")
    tags = messages[_line("DJG201_remedies.py", "def streamed_tags") + 2]
    assert 'add `.prefetch_related("tags")` to that queryset' in tags
    assert "give its `.iterator()` a `chunk_size`" in tags
    brand = messages[_line("DJG201_remedies.py", "def streamed_brand") + 2]
    assert brand.endswith('add `.select_related("brand")` to that queryset')


def test_remedy_on_a_bare_select_related_keeps_what_it_loaded() -> None:
    messages = _messages("DJG201_remedies.py")
    replace = "replace the bare `.select_related()` with `.select_related({})`"
    nullable = messages[_line("DJG201_remedies.py", "def bare_and_nullable") + 3]
    assert replace.format('"brand", "category"') in nullable
    deeper = _line("DJG201_remedies.py", "def bare_reading_deeper")
    for line in (deeper + 2, deeper + 3):
        assert replace.format('"brand", "category__parent"') in messages[line]
    named = messages[_line("DJG201_remedies.py", "def bare_replaced_by_named") + 3]
    assert named.endswith('add `.select_related("category")` to that queryset')


def test_feed_remedy_on_a_bare_select_related_keeps_what_it_loaded() -> None:
    messages = _messages("DJG201_feeds.py")
    bare = messages[_line("DJG201_feeds.py", "return Entry.objects.select_related()[:10]")]
    # Django's default item_link() reads the non-null blog the bare form loads
    assert bare.endswith(
        "replace the bare `.select_related()` of the `items()` queryset with "
        '`.select_related("author", "blog")` (naming relations replaces the bare form, which '
        "follows only non-null foreign keys)"
    )


def test_a_count_per_row_is_annotated_unless_the_rows_are_read_too() -> None:
    messages = _messages("DJG201_counts.py")
    images = messages[_line("DJG201_counts.py", "def image_counts") + 2]
    # the lookup of a default reverse accessor drops its ``_set``
    assert images.endswith(
        'add `.annotate(productimage_count=Count("productimage"))` to that queryset and read '
        "`product.productimage_count` (a prefetch would load every related row to count them)"
    )
    exists = messages[_line("DJG201_counts.py", "def reviewed_products") + 2]
    assert 'add `.annotate(reviews_count=Count("reviews"))` to that queryset' in exists
    both = messages[_line("DJG201_counts.py", "def reviews_with_their_number") + 2]
    assert both.endswith('add `.prefetch_related("reviews")` to that queryset')
    assert "annotate" not in both
    helper = messages[_line("DJG201_counts.py", "def counted_by_a_helper") + 1]
    assert helper.endswith(
        'add `.annotate(reviews_count=Count("reviews"))` to that queryset and read '
        "`product.reviews_count` (a prefetch would load every related row to count them)"
    )
    listed = messages[_line("DJG201_counts.py", "def listed_by_a_helper") + 1]
    assert listed.endswith('add `.prefetch_related("reviews")` to that queryset')


def test_a_template_count_per_row_is_annotated_and_read() -> None:
    messages = _messages("DJG201_template_counts.py")
    authors = messages[_line("DJG201_template_counts.py", "return Author.objects.all()")]
    assert authors.endswith(
        'add `.annotate(posts_count=Count("posts"))` to it and read `author.posts_count` '
        "(a prefetch would load every related row to count them)"
    )
    bookmarks = messages[_line("DJG201_template_counts.py", "queryset = Post.objects.all()")]
    assert 'add `.annotate(bookmark_count=Count("bookmark"))` to it' in bookmarks
    listed = messages[_line("DJG201_template_counts.py", "model = Author")]
    assert listed.endswith('set `queryset = Author.objects.prefetch_related("posts__tags")`')


def test_a_count_on_the_rows_of_a_relation_is_annotated_in_their_prefetch() -> None:
    name = "DJG201_template_counts.py"
    messages = _messages(name)
    annotated = (
        'Prefetch("posts", queryset=Post.objects.annotate(comments_count=Count("comments")))'
    )
    prefetched = messages[_line(name, 'queryset = Author.objects.prefetch_related("posts")')]
    assert prefetched.endswith(
        f'replace its `"posts"` prefetch with `{annotated}` and read `post.comments_count` '
        "(a prefetch would load every related row to count them)"
    )
    plain = messages[_line(name, "class AuthorCommentCounts") + 2]
    assert plain.endswith(
        f"add `.prefetch_related({annotated})` to it and read `post.comments_count`"
    )
    assert "posts__comments" not in prefetched + plain


@pytest.mark.parametrize(
    "source",
    [
        "Book.objects",
        "shop.models.Book.objects",
        "book",
        "(Book).objects",
        "Book . objects",
        "Book.\\\n    objects",
        "(Book.objects)",
        "Book.objects.filter(author__name='x').select_related(\n    'author'\n)",
        "books[0].author",
    ],
)
def test_the_code_in_messages_is_libcsts_on_one_line(source: str) -> None:
    """``code_of`` prints names and plain attribute chains itself (most managers), the rest
    through libcst: the text is the same either way."""
    import libcst as cst

    from flake8_djguide.orm.nodes import code_of

    node = cst.parse_expression(source)
    bare = node.with_changes(lpar=[], rpar=[]) if getattr(node, "lpar", None) else node
    printed = " ".join(cst.Module(body=[]).code_for_node(bare).split())
    expected = printed if len(printed) <= 60 else printed[:57] + "..."
    assert code_of(node) == expected
