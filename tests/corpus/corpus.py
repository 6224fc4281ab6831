"""The corpus: real Django code fetched with pip, and mutated copies of it.

``python -m tests.corpus.corpus`` prepares it (the corpus tests do this themselves);
everything goes into ``tests/corpus/.cache`` (git-ignored; ``DJGUIDE_CORPUS_CACHE``
overrides the place). The packages are pinned so that the numbers recorded in
``tests/corpus/README.md`` can be reproduced.

Layout of the cache::

    dist/                      the downloaded wheels
    src/<distribution>/...     their .py files, as shipped (each a project root)
    mutated/<kind>/...         mutated copies of a sample of those files (see MUTATIONS),
                               empty, huge and odd files (special/), and those again in
                               settings, tests, command and migration paths (contexts/)
    deep/...                   deeply nested files (and again under contexts/)
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import tokenize
import zipfile
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
CACHE = Path(os.environ.get("DJGUIDE_CORPUS_CACHE", HERE / ".cache"))

#: Django, DRF, and real Django applications published on PyPI (as wheels).
PACKAGES = (
    "django==5.2.19",
    "djangorestframework==3.18.3",
    "django-allauth==65.21.1",
    "django-oscar==4.2.1",
    "wagtail==8.0.1",
    "pretalx==2025.2.2",
)

#: How many source files each mutation is applied to (a fixed-seed sample).
SAMPLE = 120
SEED = 20260901

#: Files whose nesting is beyond what libcst's native parser survives: the plugin
#: reports one DJG000 naming the limit for them instead of crashing.
BEYOND_LIBCST = "beyond_libcst_"


def _distribution_name(requirement: str) -> str:
    return requirement.split("==")[0].replace("-", "_").lower()


def fetch(cache: Path = CACHE) -> Path:
    """Download the pinned wheels (once) and unpack their .py files into ``cache/src``."""
    dist = cache / "dist"
    src = cache / "src"
    dist.mkdir(parents=True, exist_ok=True)
    for requirement in PACKAGES:
        name = _distribution_name(requirement)
        version = requirement.split("==")[1]
        target = src / name
        if (target / ".complete").exists():
            continue
        wheels = [w for w in dist.glob("*.whl") if w.name.lower().startswith(f"{name}-{version}-")]
        if not wheels:
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                 "--only-binary=:all:", "--dest", str(dist), requirement],
                check=True,
            )  # fmt: skip
            wheels = [
                w for w in dist.glob("*.whl") if w.name.lower().startswith(f"{name}-{version}-")
            ]
        (wheel,) = wheels
        with zipfile.ZipFile(wheel) as archive:
            for member in archive.namelist():
                if member.endswith(".py") and ".dist-info/" not in member:
                    archive.extract(member, target)
        _mark_project(target, f"corpus-{name}")
        (target / ".complete").write_text("")
    _mark_project(cache, "corpus")  # nothing above the cache is taken for the project root
    return src


def source_files(root: Path) -> list[Path]:
    """Every .py file under ``root``, sorted."""
    return sorted(p for p in root.rglob("*.py") if p.is_file())


# -- mutations --------------------------------------------------------------------------


def _truncate(data: bytes, rng: random.Random) -> bytes:
    return data[: rng.randrange(len(data) + 1)]


def _delete_lines(data: bytes, rng: random.Random) -> bytes:
    lines = data.splitlines(True)
    for _ in range(min(len(lines), rng.randint(1, 5))):
        del lines[rng.randrange(len(lines))]
    return b"".join(lines)


def _tabs(data: bytes, rng: random.Random) -> bytes:
    """Mixed tabs and spaces: some 8-space (and some 4-space) indents become tabs."""
    out = []
    for line in data.splitlines(True):
        if rng.random() < 0.5:
            if line.startswith(b"        "):
                line = b"\t" + line[8:]
            elif line.startswith(b"    "):
                line = b"\t" + line[4:]
        out.append(line)
    return b"".join(out)


def _crlf(data: bytes, rng: random.Random) -> bytes:
    unix = data.replace(b"\r\n", b"\n")
    if rng.random() < 0.7:
        return unix.replace(b"\n", b"\r\n")
    # mixed: some lines CRLF, some LF, some lone CR (old Mac)
    out = []
    for line in unix.splitlines(True):
        ending = rng.choice((b"\r\n", b"\n", b"\r"))
        out.append(line[:-1] + ending if line.endswith(b"\n") else line)
    return b"".join(out)


def _bom(data: bytes, rng: random.Random) -> bytes:
    return b"\xef\xbb\xbf" + data


def _non_utf8(data: bytes, rng: random.Random) -> bytes:
    """Invalid UTF-8 bytes in a comment or string, or the file re-encoded as latin-1."""
    choice = rng.randrange(3)
    lines = data.splitlines(True) or [b"\n"]
    index = rng.randrange(len(lines))
    if choice == 0:
        lines.insert(index, b"# caf\xe9 \xff\xfe broken\n")
    elif choice == 1:
        lines.insert(index, b'LABEL = "gr\xfc\xdfe"\n')
    else:
        text = b"".join(lines).decode("utf-8", "replace").replace("\ufffd", "?")
        header = "# -*- coding: latin-1 -*-\n"
        return (header + text + '\nLABEL = "Gr\xfc\xdfe \xe9t\xe9"\n').encode("latin-1", "replace")
    return b"".join(lines)


def _form_feeds(data: bytes, rng: random.Random) -> bytes:
    out = []
    for line in data.splitlines(True):
        roll = rng.random()
        if roll < 0.05:
            out.append(b"\x0c\n")  # a form feed line, as in the standard library
        elif roll < 0.10 and line.strip():
            out.append(b"\x0c" + line)  # a form feed before the indentation
        out.append(line)
    return b"".join(out)


MUTATIONS: dict[str, Callable[[bytes, random.Random], bytes]] = {
    "truncated": _truncate,
    "deleted_lines": _delete_lines,
    "tabs": _tabs,
    "crlf": _crlf,
    "bom": _bom,
    "non_utf8": _non_utf8,
    "form_feeds": _form_feeds,
}


def _deep_files() -> dict[str, str]:
    """Deeply nested code: at the limits of what ``ast`` accepts, and beyond libcst's."""
    files = {
        "parens_199.py": "x = " + "(" * 199 + "1" + ")" * 199 + "\n",
        "lists_150.py": "DATA = " + "[" * 150 + "]" * 150 + "\n",
        "dicts_100.py": "CONFIG = " + '{"k": ' * 100 + "1" + "}" * 100 + "\n",
        "ifs_99.py": "".join("    " * i + "if x:\n" for i in range(99)) + "    " * 99 + "pass\n",
        "binop_2500.py": "TOTAL = " + " + ".join(["price"] * 2500) + "\nprint(TOTAL)\n",
        "calls_1500.py": "x = f" + "()" * 1500 + "\n",
        "attributes_2000.py": "x = a" + ".b" * 2000 + "\n",
        "and_chain_1000.py": "ok = " + " and ".join(f"a{i}" for i in range(1000)) + "\n",
        "concatenation_2500.py": "SQL = (\n" + '    "x"\n' * 2500 + ")\n",
        "lambda_1000.py": "f = " + "lambda: " * 1000 + "1\n",
        "elif_900.py": "if a:\n    pass\n" + "elif a:\n    pass\n" * 900,
        "nested_defs_90.py": "".join("    " * i + f"def f{i}(request):\n" for i in range(90))
        + "    " * 90
        + "print(request)\n",
        "nested_classes_90.py": "".join(
            "    " * i + f"class C{i}(models.Model):\n" for i in range(90)
        )
        + "    " * 90
        + "price = models.FloatField()\n",
        # libcst's native parser overflows its stack (a segmentation fault) on an
        # and/or chain of about 7,000 operands, which ast accepts; the plugin does not
        # parse chains of more than 1,000
        f"{BEYOND_LIBCST}and_chain_3000.py": "ok = " + " or ".join(["a"] * 3000) + "\n",
        f"{BEYOND_LIBCST}and_chain_20000.py": (
            "import logging\nlogger = logging.getLogger('x')\nok = "
            + " or ".join(f"a{i}" for i in range(20000))
            + "\nprint(ok)\n"
        ),
        # libcst rejects more than 3,000 implicitly concatenated strings
        f"{BEYOND_LIBCST}concatenation_5000.py": (
            "print(1)\nSQL = (\n" + '    "x"\n' * 5000 + ")\n"
        ),
        # the same in a statement the settings rules parse in a settings module
        f"{BEYOND_LIBCST}secret_key_and_chain_20000.py": (
            "SECRET_KEY = " + " or ".join(f"a{i}" for i in range(20000)) + "\n"
        ),
        f"{BEYOND_LIBCST}secret_key_concatenation_5000.py": (
            "SECRET_KEY = (\n" + '    "x"\n' * 5000 + ")\n"
        ),
    }
    settings = 'SECRET_KEY = "django-insecure-0"\nDEBUG = True\n'
    files["settings_with_deep_list.py"] = settings + "X = " + "[" * 120 + "]" * 120 + "\n"
    return files


def _special_files(corpus: list[Path]) -> dict[str, bytes]:
    """Empty and near-empty files, huge files, odd bytes."""
    big: list[bytes] = []
    lines = 0
    for path in corpus:
        data = path.read_bytes()
        if b"from __future__" in data:
            continue
        big.append(data if data.endswith(b"\n") else data + b"\n")
        lines += data.count(b"\n")
        if lines >= 50_000:
            break
    data_module = "".join(
        f'ENTRY_{i} = {{"price": {i}.5, "name": "item {i}"}}\n' for i in range(50_000)
    )
    return {
        "empty.py": b"",
        "newline.py": b"\n",
        "bom_only.py": b"\xef\xbb\xbf",
        "bom_newline.py": b"\xef\xbb\xbf\n",
        "whitespace.py": b"   \n\t\n  \n",
        "form_feed_only.py": b"\x0c",
        "comments.py": b"# just a comment\n# noqa\n",
        "docstring.py": b'"""Only a docstring."""',
        "no_trailing_newline.py": b"import os\nprint(os.sep)",
        "backslash_at_eof.py": b"x = 1 \\\n",
        "nul_byte.py": b"x = 1\n\x00\nprint(x)\n",
        "long_line.py": b"x = '" + b"a" * 1_000_000 + b"'\nprint(x)\n",
        "many_statements_one_line.py": b"; ".join([b"print(1)"] * 5000) + b"\n",
        "lone_cr.py": b"import os\rprint(os.sep)\rfrom . import x\r",
        "crlf_settings.py": b'SECRET_KEY = "x"\r\nDEBUG = True\r\nALLOWED_HOSTS = ["*"]\r\n',
        "concatenated_50000_lines.py": b"".join(big),
        "data_module_50000_lines.py": data_module.encode(),
        "utf16.py": "print('hello')\n".encode("utf-16"),
        "utf8_sig_cookie.py": b"\xef\xbb\xbf# -*- coding: utf-8 -*-\nprint(1)\n",
        "bad_cookie.py": b"# -*- coding: no-such-codec -*-\nprint(1)\n",
        "latin1_cookie_utf8_bytes.py": b"# -*- coding: latin-1 -*-\nX = '\xc3\xa9'\n",
    }


def _mark_project(root: Path, name: str) -> None:
    """A ``pyproject.toml`` makes ``root`` the project root (and the model index's root)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(f'[project]\nname = "{name}"\n', encoding="utf-8")


def mutate(src: Path, cache: Path = CACHE) -> tuple[Path, Path]:
    """Write the mutated copies (once); return ``(mutated, deep)`` directories.

    ``deep`` holds the deeply nested files, apart: pyflakes itself aborts a flake8
    run on some of them, so they are checked with flake8-djguide as the only plugin.
    """
    root = cache / "mutated"
    deep = cache / "deep"
    if (root / ".complete").exists() and (deep / ".complete").exists():
        _write_deep(deep)  # cheap, and a cache made by an older version may lack some
        return root, deep
    shutil.rmtree(root, ignore_errors=True)
    shutil.rmtree(deep, ignore_errors=True)
    _mark_project(root, "corpus-mutated")
    _mark_project(deep, "corpus-deep")
    corpus = source_files(src)
    rng = random.Random(SEED)
    sample = rng.sample(corpus, min(SAMPLE, len(corpus)))
    for kind, mutation in MUTATIONS.items():
        for number, path in enumerate(sample):
            relative = path.relative_to(src)
            target = root / kind / f"{number:03d}" / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(mutation(path.read_bytes(), rng))
    special = root / "special"
    special.mkdir(parents=True, exist_ok=True)
    specials = _special_files(corpus)
    for name, data in specials.items():
        (special / name).write_bytes(data)
    # the same files again in a settings package, a tests package, a management
    # command and a migration, where other rules apply
    for context in CONTEXTS:
        directory = root / "contexts" / context
        directory.mkdir(parents=True, exist_ok=True)
        for name, data in specials.items():
            if "50000" not in name:
                (directory / name).write_bytes(data)
    _write_deep(deep)
    (root / ".complete").write_text("")
    (deep / ".complete").write_text("")
    return root, deep


CONTEXTS = ("config/settings", "blog/tests", "blog/management/commands", "blog/migrations")


def _write_deep(deep: Path) -> None:
    """The deeply nested files, at the top of ``deep`` and under each context."""
    deep_files = _deep_files()
    for directory in (deep, *(deep / "contexts" / context for context in CONTEXTS)):
        directory.mkdir(parents=True, exist_ok=True)
        for name, text in deep_files.items():
            (directory / name).write_text(text, encoding="utf-8")


def flake8_lines(path: Path) -> list[str] | None:
    """The lines flake8 hands a plugin for ``path``, or ``None`` when it cannot read them."""
    try:
        with tokenize.open(path) as handle:
            lines = handle.readlines()
    except (SyntaxError, UnicodeError):
        with open(path, encoding="latin-1") as handle:
            lines = handle.readlines()
    except OSError:
        return None
    if lines and lines[0][:1] == "\ufeff":
        lines[0] = lines[0][1:]
    elif lines and lines[0][:3] == "\xef\xbb\xbf":
        lines[0] = lines[0][3:]
    return lines


def prepare(cache: Path = CACHE) -> tuple[Path, Path, Path]:
    """Fetch and mutate: ``(src, mutated, deep)``."""
    src = fetch(cache)
    mutated, deep = mutate(src, cache)
    return src, mutated, deep


if __name__ == "__main__":
    source, mutated, deep = prepare()
    print(f"{len(source_files(source))} corpus files in {source}")
    print(f"{len(source_files(mutated))} mutated files in {mutated}")
    print(f"{len(source_files(deep))} deeply nested files in {deep}")
