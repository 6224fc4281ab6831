"""The template tokenizer and loader (flake8_djguide.templates): facts of Django templates
read without Django, the project's template directories, and the facts cache."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from flake8_djguide.templates.loader import (
    cache_file_for,
    configured_dirs,
    load_templates,
    valid_template_facts,
)
from flake8_djguide.templates.parse import template_facts, variables

FIXTURE = Path(__file__).parent / "fixtures" / "projects" / "blogsite"


def test_loops_reads_and_lines() -> None:
    text = (
        "{% load static %}\n"
        "{% for post in posts reversed %}\n"
        "  {{ post.author.name|default:fallback.text }}\n"
        '  {% url "blog:post" post.pk as link %}\n'
        "  {% for a, b in post.pairs %}{{ a }}{% empty %}{{ none.x }}{% endfor %}\n"
        "{% endfor %}\n"
    )
    facts = template_facts(text)
    assert facts == {
        "e": None,
        "b": [
            [
                "f",
                2,
                ["post"],
                "posts",
                [
                    ["v", 3, "post.author.name"],
                    ["v", 3, "fallback.text"],
                    ["a", 4, "link"],
                    ["v", 4, "post.pk"],
                    ["f", 5, ["a", "b"], "post.pairs", [["r", 5, "a"]], [["r", 5, "none.x"]]],
                ],
                [],
            ]
        ],
    }


def test_with_include_extends_block() -> None:
    text = (
        '{% extends "base.html" %}\n'
        "{% block content %}\n"
        "{% with author=post.author %}{{ author.name }}{% endwith %}\n"
        "{% with post.category as category %}{{ category }}{% endwith %}\n"
        '{% include "row.html" with item=post only %}\n'
        "{% include template_name %}\n"
        "{% endblock %}\n"
    )
    facts = template_facts(text)
    assert facts is not None
    assert facts["e"] == "base.html"
    [block] = facts["b"]
    assert block[:2] == ["b", "content"]
    assert block[2] == [
        ["w", 3, [["author", "post.author"]], [["r", 3, "author.name"]]],
        ["w", 4, [["category", "post.category"]], [["r", 4, "category"]]],
        ["i", 5, "row.html", [["item", "post"]], True],
        ["v", 6, "template_name"],
        ["i", 6, None, [], False],
    ]
    assert template_facts("{% extends base_template %}")["e"] == "?"  # type: ignore[index]


def test_comments_verbatim_and_conditions() -> None:
    text = (
        "{# {{ hidden.one }} #}\n"
        "{% comment %}{% for x in y %}{{ hidden.two }}{% endcomment %}\n"
        "{% verbatim %}{{ hidden.three }}{% endverbatim %}\n"
        "{% if post.author and not post.closed or 3 > count %}{% elif other.flag %}{% endif %}\n"
        "{% blocktranslate with name=post.author.name %}{{ name }}{% endblocktranslate %}\n"
    )
    facts = template_facts(text)
    assert facts is not None
    reads = [n[2] for n in facts["b"] if n[0] == "v"]
    assert reads == ["post.author", "post.closed", "count", "other.flag"]
    assert facts["b"][-1] == ["w", 5, [["name", "post.author.name"]], [["r", 5, "name"]]]


def test_printed_values() -> None:
    facts = template_facts(
        "{{ post.author }}{{ post.author|upper }}{% if post.author %}{% endif %}"
    )
    assert facts is not None
    assert [n[0] for n in facts["b"]] == ["r", "v", "v"]


def test_variables_of_filter_expressions() -> None:
    assert variables('post.title|default:"a|b"|date:fmt') == ["post.title", "fmt"]
    assert variables('"text"|add:post.count') == ["post.count"]
    assert variables("_private.x") == []
    assert variables("True") == []


@pytest.mark.parametrize(
    "text",
    [
        "{% for post in posts %}{{ post.title }}",
        "{{ x }}{% endfor %}",
        "{% empty %}",
        "{% with a=b %}{% for x in y %}{% endwith %}{% endfor %}",
        "{% block content %}",
        "{% for post %}{% endfor %}",
    ],
)
def test_broken_templates_have_no_facts(text: str) -> None:
    assert template_facts(text) is None


def test_settings_dirs_literal_shapes(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "settings.py").write_text(
        "import os\nfrom pathlib import Path\n\n"
        "BASE_DIR = Path(__file__).resolve().parent.parent\n"
        "ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))\n"
        "TEMPLATES = [{\n"
        '    "DIRS": [\n'
        '        BASE_DIR / "templates",\n'
        '        os.path.join(ROOT, "frontend", "html"),\n'
        '        str(BASE_DIR.joinpath("mail")),\n'
        "        env_dir(),\n"
        "    ],\n"
        "}]\n"
    )
    found = configured_dirs(tmp_path, ["config/settings.py"])
    assert found == [
        str(tmp_path / "templates"),
        str(tmp_path / "frontend" / "html"),
        str(tmp_path / "mail"),
    ]


def test_the_settings_template_dirs_are_cached_until_a_settings_module_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flake8_djguide.templates import loader

    project = tmp_path / "p"
    (project / "config").mkdir(parents=True)
    (project / "pages").mkdir()
    settings = project / "config" / "settings.py"
    settings.write_text('TEMPLATES = [{"DIRS": ["pages"]}]\n')
    (project / "pages" / "home.html").write_text("{{ x }}")
    (project / "other").mkdir()
    (project / "other" / "about.html").write_text("{{ y }}")
    cache = tmp_path / "cache"
    parsed: list[str] = []
    original = loader.configured_dirs

    def counting(root: Path, py_files: list[str]) -> list[str]:
        parsed.append(str(root))
        return original(root, py_files)

    monkeypatch.setattr(loader, "configured_dirs", counting)
    py_files = ["config/settings.py"]
    assert load_templates(project, cache, py_files).find("home.html") is not None
    assert load_templates(project, cache, py_files).find("home.html") is not None
    assert len(parsed) == 1  # the second load took the directories from the cache
    settings.write_text('TEMPLATES = [{"DIRS": ["other"]}]  # moved\n')
    moved = load_templates(project, cache, py_files)
    assert len(parsed) == 2
    assert moved.find("home.html") is None and moved.find("about.html") is not None
    # a damaged entry is computed again
    for damaged in ('{"files": 1}', "[" * 100_000, '{"files": [], "dirs": [1]}'):
        data = json.loads(cache_file_for(project, cache).read_text())
        data["files"][loader.SETTINGS_KEY][2] = damaged
        cache_file_for(project, cache).write_text(json.dumps(data))
        assert load_templates(project, cache, py_files).find("about.html") is not None
    assert len(parsed) == 5


def test_fixture_project_templates_and_cache(tmp_path: Path) -> None:
    py_files = [p.relative_to(FIXTURE).as_posix() for p in FIXTURE.rglob("*.py") if p.is_file()]
    first = load_templates(FIXTURE, tmp_path, py_files)
    assert first.parsed > 0 and first.reused == 0
    assert first.find("base.html") is not None
    assert first.find("blog/post_list.html")[0] == "blog/templates/blog/post_list.html"  # type: ignore[index]
    assert first.find("includes/tags.html") is not None
    assert first.find("blog/broken.html") is None  # skipped
    assert first.broken == 1
    second = load_templates(FIXTURE, tmp_path, py_files)
    assert second.parsed == 0 and second.reused == first.parsed
    assert second.by_name.keys() == first.by_name.keys()
    # cached facts stay JSON text until a view's template needs them
    assert all(v is None or isinstance(v[1], str) for v in second.by_name.values())
    assert all(second.find(name) == first.find(name) for name in first.by_name)
    # a damaged entry is dropped and parsed again: of another type when the cache is read
    cache = cache_file_for(FIXTURE, tmp_path)
    data = json.loads(cache.read_text())
    rel = "blog/templates/blog/post_list.html"
    data["files"][rel][2] = {"e": None, "b": []}
    cache.write_text(json.dumps(data))
    third = load_templates(FIXTURE, tmp_path, py_files)
    assert third.parsed == 1
    assert third.find("blog/post_list.html") == first.find("blog/post_list.html")
    # ... JSON text of the wrong shape or not JSON when the template is looked up
    for damaged in ('{"e": null, "b": [["x"]]}', "[[[", '{"e": 3}'):
        data = json.loads(cache.read_text())
        data["files"][rel][2] = damaged
        cache.write_text(json.dumps(data))
        fourth = load_templates(FIXTURE, tmp_path, py_files)
        assert fourth.parsed == 0
        assert fourth.find("blog/post_list.html") == first.find("blog/post_list.html")


def test_changed_template_is_read_again(tmp_path: Path) -> None:
    app = tmp_path / "shop"
    (app / "templates" / "shop").mkdir(parents=True)
    (app / "__init__.py").write_text("")
    page = app / "templates" / "shop" / "list.html"
    page.write_text("{% for p in products %}{{ p.name }}{% endfor %}")
    cache = tmp_path / ".cache"
    before = load_templates(tmp_path, cache, ["shop/__init__.py"])
    page.write_text("{% for p in products %}{{ p.category.name }}{% endfor %}\n")
    os.utime(page, ns=(1, 1))
    after = load_templates(tmp_path, cache, ["shop/__init__.py"])
    assert after.parsed == 1
    assert before.find("shop/list.html") != after.find("shop/list.html")


def test_two_apps_with_one_name_are_ambiguous(tmp_path: Path) -> None:
    for app in ("one", "two"):
        (tmp_path / app / "templates").mkdir(parents=True)
        (tmp_path / app / "__init__.py").write_text("")
        (tmp_path / app / "templates" / "page.html").write_text("{{ x.y }}")
    found = load_templates(tmp_path, None, ["one/__init__.py", "two/__init__.py"])
    assert "page.html" in found.by_name and found.find("page.html") is None


def test_valid_template_facts_shape() -> None:
    facts = template_facts("{% for a in b %}{% include 'x.html' %}{% endfor %}")
    assert valid_template_facts(facts)
    assert not valid_template_facts({"e": None, "b": [["f", 1, ["a"], "b", [], None]]})
    assert not valid_template_facts({"e": 3, "b": []})


def test_index_build_reads_templates(tmp_path: Path) -> None:
    from flake8_djguide.index import build

    project = build(FIXTURE, tmp_path, compact=True)
    assert project.templates is not None
    assert project.templates.find("blog/post_detail.html") is not None
    assert cache_file_for(FIXTURE, tmp_path).is_file()


def test_template_change_is_seen_by_the_index_check(tmp_path: Path) -> None:
    from flake8_djguide.templates.loader import changed

    app = tmp_path / "shop"
    (app / "templates").mkdir(parents=True)
    (app / "__init__.py").write_text("")
    page = app / "templates" / "list.html"
    page.write_text("{{ a.b }}")
    found = load_templates(tmp_path, None, ["shop/__init__.py"])
    assert not changed(found)
    page.write_text("{{ a.b.c }}")
    os.utime(page, ns=(5, 5))
    assert changed(found)


_MODELS = (
    "from django.db import models\n\n\n"
    "class Author(models.Model):\n    name = models.CharField(max_length=50)\n\n\n"
    "class Post(models.Model):\n"
    "    author = models.ForeignKey(Author, on_delete=models.CASCADE)\n"
)
_VIEWS = (
    "from django.shortcuts import render\n\n"
    "from shop.models import Post\n\n\n"
    "def posts(request):\n"
    '    return render(request, "shop/posts.html", {"posts": Post.objects.all()})\n'
)


def test_the_server_sees_a_template_changed_between_requests(tmp_path: Path) -> None:
    """A long-lived check server reads a template again when it changes."""
    import sys
    import time

    from flake8_djguide import config, server
    from flake8_djguide import index as index_module

    root = tmp_path / "proj"
    (root / "shop" / "templates" / "shop").mkdir(parents=True)
    (root / "manage.py").write_text("")
    (root / "shop" / "__init__.py").write_text("")
    (root / "shop" / "models.py").write_text(_MODELS)
    views = root / "shop" / "views.py"
    views.write_text(_VIEWS)
    page = root / "shop" / "templates" / "shop" / "posts.html"
    page.write_text("{% for post in posts %}{{ post.author_id }}{% endfor %}\n")
    request = {
        "cwd": str(root),
        "sys_path": list(sys.path),
        "filename": str(views),
        "lines": _VIEWS.splitlines(keepends=True),
        "rules": ["DJG201"],
        "settings": dict(config.resolve(str(views), {}).values),
    }
    index_module.clear_memo()
    checker = server.Server(tmp_path / "unused.sock", 1.0)
    cwd = os.getcwd()
    try:
        assert checker.check(request) == []
        page.write_text("{% for post in posts %}{{ post.author.name }}{% endfor %}\n")
        os.utime(page, ns=(time.time_ns(), time.time_ns() + 10**9))
        assert [f[:3] for f in checker.check(request)] == [["DJG201", 7, 56]]
    finally:
        os.chdir(cwd)
        index_module.clear_memo()


def test_a_read_in_the_parent_template_names_the_parent() -> None:
    from tests.util import lint, load_fixture

    fixture = load_fixture(Path(__file__).parent / "fixtures" / "orm" / "DJG201_templates.py")
    findings = lint(fixture.code, fixture.lint_path, fixture.rules, fixture.options)
    [footer] = [
        f for f in findings if "top_authors" not in f.message and "author.posts" in f.message
    ]
    assert "template `templates/base.html` reads `author.posts.count` (line 9)" in footer.message


def _messages(name: str) -> dict[int, str]:
    from tests.util import lint, load_fixture

    fixture = load_fixture(Path(__file__).parent / "fixtures" / "orm" / name)
    findings = lint(fixture.code, fixture.lint_path, fixture.rules, fixture.options)
    return {f.line: f.message for f in findings}


def test_messages_name_the_template_line_read_and_remedy() -> None:
    views = _messages("DJG201_templates.py")
    [listing] = [
        m for m in views.values() if "`post.author.pk` (line 6)" in m and "`post.category`" in m
    ]
    assert listing.startswith(
        "DJG201 template `blog/templates/blog/post_list.html` reads `post.author.pk` (line 6), "
    )
    assert "template `templates/includes/tags.html` reads `post.tags.all` (line 2)" in listing
    assert listing.endswith(
        'add `.select_related("author", "category").prefetch_related("tags", '
        '"comments__author")` to it (`post.author_id` reads the key of `post.author.pk` '
        "without a query)"
    )
    [bodies] = [m for m in views.values() if "post_bodies.html" in m]
    assert bodies.endswith('add "body" to its `only(...)` (or drop it from `defer(...)`)')
    classes = _messages("DJG201_template_views.py")
    [authors] = [m for m in classes.values() if "set `queryset" in m and "Author" in m]
    assert authors.endswith('set `queryset = Author.objects.prefetch_related("posts__tags")`')


def test_tag_soup_never_raises() -> None:
    import random

    pieces = [
        "{% for x in y %}",
        "{% for a, b in c.items reversed %}",
        "{% empty %}",
        "{% endfor %}",
        "{% with a=b.c %}",
        "{% with b as a %}",
        "{% endwith %}",
        "{% block x %}",
        "{% endblock %}",
        '{% include "p.html" with a=b only %}',
        "{% include %}",
        "{% extends %}",
        "{% if a and not b.c %}",
        "{% endif %}",
        "{% comment %}",
        "{% endcomment %}",
        "{% verbatim %}",
        "{% endverbatim %}",
        "{% blocktrans with n=a.b count c=d|length %}",
        "{% endblocktrans %}",
        '{{ a.b|default:"x|y"|date:f }}',
        "{{ }}",
        "{%  %}",
        "{% url 'x' a.pk as u %}",
        "{# c #}",
        "{{ '",
        "\n",
        "text",
    ]
    generator = random.Random(7)
    for _ in range(500):
        text = "".join(generator.choice(pieces) for _ in range(generator.randint(0, 30)))
        facts = template_facts(text)
        assert facts is None or valid_template_facts(facts)


def test_a_template_name_inherited_from_a_base_view_is_the_one_named() -> None:
    views = _messages("DJG201_template_bases.py")
    assert sorted(views) == [67, 71, 78]
    for line in (67, 71):
        assert views[line].startswith(
            "DJG201 template `blog/templates/blog/post_categories.html` reads `post.category`"
        )
    assert views[78].startswith("DJG201 template `blog/templates/blog/author_list.html` reads")


def test_a_model_method_read_names_only_what_the_remedy_removes() -> None:
    views = _messages("DJG201_template_methods.py")
    [stats] = views.values()  # the cached method is left alone
    assert stats.endswith(
        'add `.select_related("author")` to it; `post.latest_bookmark.user`, '
        "`post.matching_comments` query per row even when prefetched: `annotate()` the value "
        "or use `Prefetch(..., to_attr=...)`"
    )


def test_the_forum_project_managers_module_is_the_fixture() -> None:
    fixtures = Path(__file__).parent / "fixtures"
    fixture = fixtures / "orm" / "DJG201_manager_methods.py"
    on_disk = fixtures / "projects" / "forum" / "board" / "managers.py"
    assert on_disk.read_text(encoding="utf-8") == fixture.read_text(encoding="utf-8")


def test_a_manager_method_finding_names_the_view_and_the_template() -> None:
    messages = _messages("DJG201_manager_methods.py")
    assert messages[41] == (
        "DJG201 the rows of `for_forum()` are listed by `board.views.ForumTopics`: template "
        "`board/templates/board/topic_list.html` reads `topic.solved_by` (line 3), "
        "`topic.solved_by.name` (line 3): a query per row, as this `Topic` queryset does not "
        'load it; add `.select_related("solved_by")` to it'
    )
    assert messages[44].startswith(
        "DJG201 the rows of `for_tag()` are listed by `board.views.topics_of_tag`: template "
    )
    assert 'add `.select_related("author", "solved_by")` to it' in messages[44]


def test_the_views_sharing_a_mixin_queryset_are_named_in_one_finding() -> None:
    messages = _messages("DJG201_template_rows_made.py")
    shared = messages[75]
    assert shared.startswith(
        "DJG201 template `blog/templates/blog/post_categories.html` reads `post.category` "
    )
    assert "; and template `blog/templates/blog/post_category_paths.html` reads" in shared
