"""Hypothesis strategies for source code: hypothesmith's, and Django-shaped programs.

hypothesmith generates syntactically valid programs from Python's grammar
(``from_grammar``) and from libcst's node types (``from_node``). Such programs
almost never contain the shapes the rules look at, so ``django_modules`` builds
modules from statement templates taken from real Django code (settings modules,
views, consumers, serializers, test cases, management commands), with their holes
filled by generated names, literals and hypothesmith expressions, and nests them
in functions, classes, loops, ``with``/``try``/``match`` blocks and decorators.
"""

from __future__ import annotations

import ast
import keyword
import string
import textwrap

import hypothesmith
import libcst as cst
from hypothesis import strategies as st

# -- small pieces ---------------------------------------------------------------------------

_DJANGO_NAMES = (
    "post", "obj", "product", "order", "user", "request", "self", "qs", "queryset", "item",
    "category", "tags", "author", "settings", "logger", "env", "os", "config", "cursor",
    "connection", "Post", "Product", "Order", "Comment", "serializer", "instance", "content",
)  # fmt: skip


def _is_name(text: str) -> bool:
    return text.isidentifier() and not keyword.iskeyword(text) and text not in ("_", "__debug__")


#: identifiers, mostly Django-ish, sometimes arbitrary (non-ASCII included)
names = st.one_of(
    st.sampled_from(_DJANGO_NAMES),
    st.from_regex(r"[a-z_][a-z0-9_]{0,12}", fullmatch=True),
    st.text(min_size=1, max_size=6).filter(_is_name),
).filter(_is_name)

upper_names = st.one_of(
    st.sampled_from(
        (
            "SECRET_KEY",
            "DEBUG",
            "ALLOWED_HOSTS",
            "EMAIL_HOST_PASSWORD",
            "STRIPE_API_KEY",
            "AWS_SECRET_ACCESS_KEY",
            "GITHUB_TOKEN",
            "PASSWORD",
            "TOKEN_MODEL",
            "DATABASES",
            "CACHES",
            "SIMPLE_JWT",
            "INSTALLED_APPS",
            "MIDDLEWARE",
            "ROOT_URLCONF",
        )
    ),
    st.from_regex(r"[A-Z][A-Z0-9_]{0,15}", fullmatch=True),
).filter(_is_name)

dotted = st.lists(names, min_size=1, max_size=4).map(".".join)

modules = st.one_of(
    st.sampled_from(
        (
            "settings",
            "config.settings",
            "config.settings.base",
            "myproject.settings",
            "django.conf",
            "django.db.models",
            "logging",
            "os",
            "models",
            "utils",
            "rest_framework.serializers",
            "channels.generic.websocket",
            "app_settings",
            "shop.blog.models",
            "blog.settings_local",
            "__future__",
        )
    ),
    dotted,
)

_STRING_BODIES = st.one_of(
    st.sampled_from(("", "*", "django-insecure-x1", "changeme", "chat:lobby", "SELECT 1", "%s")),
    st.text(max_size=12),
)


@st.composite
def string_literals(draw: st.DrawFn) -> str:
    """A str/bytes/f-string literal with any prefix and quote style."""
    body = draw(_STRING_BODIES)
    prefix = draw(st.sampled_from(("", "r", "b", "f", "rb", "u", "F", "Rb", "fr")))
    if "u" in prefix.lower() and "r" in prefix.lower():
        prefix = "u"
    quote = draw(st.sampled_from(('"', "'", '"""', "'''")))
    if "b" in prefix.lower():
        body = body.encode("ascii", "backslashreplace").decode("ascii")
    literal = prefix + quote + body.replace("\\", "\\\\").replace(quote[0], "\\" + quote[0])
    literal = literal.replace("\n", "\\n").replace("\r", "\\r") if len(quote) == 1 else literal
    literal += quote
    if "f" in prefix.lower():
        literal = literal.replace("{", "{{").replace("}", "}}")
        if draw(st.booleans()):
            literal = literal[: -len(quote)] + "{" + draw(names) + "}" + quote
    return literal


simple_expressions = st.one_of(
    names,
    dotted,
    string_literals(),
    st.integers(-5, 10**6).map(str),
    st.sampled_from(("True", "False", "None", "...", "[]", "{}", "()", "0.1", "1j")),
    st.builds("os.environ[{}]".format, string_literals()),
    st.builds('os.environ.get("{}", {})'.format, upper_names, string_literals()),
    st.builds('env("{}", default={})'.format, upper_names, string_literals()),
    st.builds('config("{}", default={})'.format, upper_names, string_literals()),
    st.builds("{}({})".format, dotted, names),
)


def _parenthesize(text: str) -> str:
    return "(" + text.strip() + "\n)"


def _parses_as_expression(text: str) -> bool:
    try:
        ast.parse(text, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


#: expressions hypothesmith builds from libcst's node types (odd whitespace,
#: backslash continuations, form feeds, non-ASCII names), kept when they parse
#: in parentheses
libcst_expressions = (
    st.one_of(
        hypothesmith.from_node(cst.Lambda, auto_target=False),
        hypothesmith.from_node(cst.Call, auto_target=False),
    )
    .map(_parenthesize)
    .filter(_parses_as_expression)
)

expressions = st.one_of(
    simple_expressions, simple_expressions, simple_expressions, libcst_expressions
)

# -- statements -----------------------------------------------------------------------------

_QUERYSET_METHODS = (
    "all()", "filter(active=True)", "select_related()", "select_related({s})",
    "prefetch_related({s})", "exclude(pk={e})", "order_by({s})", "values()", "only({s})",
)  # fmt: skip

_TEMPLATES = (
    # imports (DJG0xx)
    "from {dots}{module} import {name}",
    "from {dots} import {name}",
    "from {module} import {name} as {name2}",
    "import {module}",
    "import {module} as {name}",
    "from {module} import *",
    "from django.conf import settings",
    # logging and print (DJG004-006)
    "logger = logging.getLogger({expr})",
    "logger = getLogger({expr})",
    "{name} = logging.getLogger(__name__)",
    "logging.{level}({expr})",
    "logging.getLogger().{level}({expr})",
    "print({expr})",
    "print({expr}, file=sys.stderr)",
    "{name}.{level}({expr}, exc_info=True)",
    # settings (DJG3xx)
    "SECRET_KEY = {expr}",
    "SECRET_KEY: str = {expr}",
    "DEBUG = {expr}",
    "DEBUG = True",
    "ALLOWED_HOSTS = [{expr}, {str}]",
    'ALLOWED_HOSTS = ("localhost", "*")',
    "{upper} = {expr}",
    '{upper} = os.environ.get("{upper}", {str})',
    'DATABASES = {{"default": {{"ENGINE": "django.db.backends.postgresql", "PASSWORD": {expr}}}}}',
    'CACHES = {{"default": {{"OPTIONS": {{"PASSWORD": {str}}}}}}}',
    "SIMPLE_JWT = dict(SIGNING_KEY={expr})",
    # ORM (DJG2xx)
    "for {name} in {model}.objects.{qs}:\n    {body}",
    "for {name} in {model}.objects.{qs}.{qs2}:\n    {name}.{attr}.{attr2}",
    "for {name} in {name2}.{attr}_set.all():\n    {name}.save()",
    "{name} = [{name2}.{attr}.name for {name2} in {model}.objects.{qs}]",
    "{name} = {model}.objects.{qs}\nfor {name2} in {name}:\n    {name2}.{attr}.all()",
    "while {expr}:\n    {model}.objects.get(pk={expr})",
    'cursor.execute(f"SELECT * FROM {{{name}}} WHERE id = %s", [{expr}])',
    "cursor.execute(\"SELECT * FROM t WHERE name = '%s'\" % {expr})",
    "{model}.objects.raw({str}.format({expr}))",
    "{name} = {str} + {expr}\nconnection.cursor().execute({name})",
    "{name} = models.FloatField({expr})",
    "{name}_price = models.FloatField(default=0)",
    "total = serializers.FloatField(read_only=True)",
    # channels (DJG1xx)
    'async_to_sync(self.channel_layer.group_send)({str}, {{"type": "chat.message", "text": {expr}}})',
    'await self.channel_layer.group_add("chat:" + {expr}, self.channel_name)',
    'await self.send_json({{"{name}_id": {expr}, "nested": {{"created_at": {expr}}}}})',
    'self.send(text_data=json.dumps({{"user_name": {expr}}}))',
    "class {Name}(WebsocketConsumer):\n    def receive(self, text_data=None):\n        {body}",
    "class {Name}(AsyncJsonWebsocketConsumer):\n"
    "    async def receive_json(self, content, **kwargs):\n        {body}",
    # typing, errors (DJG4xx)
    "def {name}({name2}, *args, **kwargs):\n    {body}",
    "def {name}(self, {name2}: int = {expr}) -> None:\n    {body}",
    "async def {name}({name2}):\n    return {expr}",
    "raise Exception({expr})",
    "raise BaseException",
    "raise {Name}",
    "raise",
    "{name}: {Name} = {expr}",
    "lambda {name}: {expr}",
    # tests (DJG5xx)
    "class {Name}(TestCase):\n    def setUp(self):\n        {body}\n"
    "    def test_{name}(self) -> None:\n        {body}",
    "{name}.{attr} = {expr}\n{name}.{attr2} = {expr}\n{name}.save()",
    "self.{name}.{attr} = {expr}\nself.{name}.save(update_fields=[{str}])",
    "{model}.objects.create({attr}={expr})",
    # DRF structure (DJG6xx)
    "@api_view([{str}])\n@login_required\ndef {name}(request):\n    {body}",
    "class {Name}(LoginRequiredMixin, {base}):\n    {body}",
    "@method_decorator(login_required, name='dispatch')\nclass {Name}({base}):\n    {body}",
    "class {Name}(serializers.ModelSerializer):\n"
    "    {name} = {Name}Serializer({kwargs})\n"
    "    class Meta:\n        model = {model}\n        fields = '__all__'",
    "paginator = Paginator({model}.objects.all(), 25)",
    "try:\n    {body}\nexcept {Name} as {name}:\n    raise CommandError({expr}) from {name}",
    "class Command(BaseCommand):\n    def handle(self, *args, **options):\n        {body}",
    # plain statements
    "{name} = {expr}",
    "{name} += {expr}",
    "{expr}",
    "del {name}",
    "assert {expr}, {expr}",
    "global {name}",
    "pass",
    "return {expr}",
    "yield {expr}",
)

_LEVELS = ("debug", "info", "warning", "error", "exception", "critical", "log", "warn")
_BASES = (
    "APIView", "generics.ListAPIView", "viewsets.ModelViewSet", "ViewSet", "View",
    "models.Model", "TestCase", "Configuration", "object", "BaseCommand",
)  # fmt: skip
_MODELS = ("Post", "Product", "Order", "Comment", "User", "self.model", "Model")


def _fields(template: str) -> list[str]:
    return sorted({name for _, name, _, _ in string.Formatter().parse(template) if name})


def _hole(draw: st.DrawFn, name: str) -> str:
    """A value for one hole of a template (drawn only when the template has it)."""
    if name == "dots":
        return draw(st.sampled_from((".", "..", "...", "", "")))
    if name == "module":
        return draw(modules)
    if name in ("name", "name2"):
        return draw(names)
    if name == "Name":
        return draw(names).capitalize() or "X"
    if name == "upper":
        return draw(upper_names)
    if name == "expr":
        return draw(expressions)
    if name == "str":
        return draw(string_literals())
    if name == "level":
        return draw(st.sampled_from(_LEVELS))
    if name == "model":
        return draw(st.sampled_from(_MODELS))
    if name == "attr":
        return draw(st.sampled_from(("category", "author", "tags", "title", "status", "user_id")))
    if name == "attr2":
        return draw(st.sampled_from(("name", "all()", "count()", "filter(x=1)", "pk", "id")))
    if name == "base":
        return draw(st.sampled_from(_BASES))
    if name == "kwargs":
        return draw(st.sampled_from(("", "many=True", "read_only=True", "source='a.b'")))
    if name == "body":
        return draw(st.sampled_from(("pass", "...", "return None", "print(1)", "x = 1")))
    if name in ("qs", "qs2"):
        method = draw(st.sampled_from(_QUERYSET_METHODS))
        return method.format(s=draw(string_literals()), e=draw(simple_expressions))
    raise AssertionError(f"no strategy for the hole {{{name}}}")


@st.composite
def template_statement(draw: st.DrawFn) -> str:
    """One Django-shaped statement (possibly compound), holes filled."""
    template = draw(st.sampled_from(_TEMPLATES))
    values = {name: _hole(draw, name) for name in _fields(template)}
    if "dots" in values and not values["dots"] and "{dots} import" in template:
        values["dots"] = "."  # "from  import x" is not Python
    return template.format(**values)


_WRAPPERS = (
    "def {name}(request, *args, **kwargs):\n{inner}",
    "async def {name}(self, event):\n{inner}",
    "class {Name}({base}):\n{inner}",
    "class {Name}:\n    class Meta:\n        abstract = True\n{inner}",
    "if {expr}:\n{inner}",
    "if TYPE_CHECKING:\n{inner}",
    'if __name__ == "__main__":\n{inner}',
    "for {name} in {model}.objects.all():\n{inner}",
    "while {expr}:\n{inner}",
    "with {expr} as {name}:\n{inner}",
    "async with {expr}:\n{inner}",
    "try:\n{inner}\nexcept Exception:\n    raise",
    "try:\n    pass\nfinally:\n{inner}",
    "match {expr}:\n    case {{'type': str(kind)}}:\n{inner2}\n    case _:\n        pass",
    "@{dotted}\ndef {name}(self):\n{inner}",
    "@{dotted}({expr})\nclass {Name}({base}):\n{inner}",
)


def _indent(code: str, prefix: str = "    ") -> str:
    return textwrap.indent(code, prefix, lambda line: True)


@st.composite
def nested_statement(draw: st.DrawFn, depth: int = 0) -> str:
    """A template statement, wrapped in 0-3 compound statements."""
    if depth >= 3 or draw(st.integers(0, 2)) == 0:
        return draw(template_statement())
    inner = draw(st.lists(nested_statement(depth + 1), min_size=1, max_size=3))
    body = "\n".join(inner)
    wrapper = draw(st.sampled_from(_WRAPPERS))
    values = {
        name: _hole(draw, name)
        for name in _fields(wrapper)
        if name not in ("inner", "inner2", "dotted", "expr")
    }
    if "{dotted}" in wrapper:
        values["dotted"] = draw(dotted)
    if "{expr}" in wrapper:
        values["expr"] = draw(simple_expressions)
    return wrapper.format(inner=_indent(body), inner2=_indent(body, " " * 8), **values)


_PREAMBLE = (
    '"""Module docstring."""',
    "from __future__ import annotations",
    "import logging",
    "import os",
    "from django.db import models",
    "from rest_framework import serializers, viewsets",
    "logger = logging.getLogger(__name__)",
    "# -*- coding: utf-8 -*-",
    "#!/usr/bin/env python",
)


def _valid(source: str) -> bool:
    try:
        ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


@st.composite
def django_modules(draw: st.DrawFn) -> str:
    """A module of Django-shaped statements that ``ast`` parses."""
    head = draw(st.lists(st.sampled_from(_PREAMBLE), max_size=4, unique=True))
    statements = draw(st.lists(nested_statement(), min_size=1, max_size=8))
    # statements sharing a line, comments and blank lines between them
    separators = draw(
        st.lists(st.sampled_from(("\n", "\n\n", "\n# comment\n", "; ")), min_size=len(statements))
    )
    body = ""
    for statement, separator in zip(statements, separators):
        if separator == "; " and "\n" in statement:
            separator = "\n"
        body += statement + separator
    source = "\n".join(head) + ("\n" if head else "") + body
    if draw(st.booleans()):
        source = source.rstrip("\n")  # no newline at end of file
    # compound statements after "; " and "return"/"yield" outside functions are
    # syntax errors: those draws are rejected here
    return source


#: every kind of generated program, all of which ``ast`` parses
programs = st.one_of(
    hypothesmith.from_grammar(),
    hypothesmith.from_node(),
    django_modules().filter(_valid),
    django_modules().filter(_valid),
)
#: the same, without hypothesmith's targeting (which allows one program per example)
untargeted_programs = st.one_of(
    hypothesmith.from_grammar(auto_target=False),
    hypothesmith.from_node(auto_target=False),
    django_modules().filter(_valid),
)
