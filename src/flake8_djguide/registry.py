"""Every rule, discovered from ``flake8_djguide.rules``, with its invariants checked."""

from __future__ import annotations

import functools
import importlib
import inspect
import pkgutil
import re

from flake8_djguide import rules as rules_package
from flake8_djguide.rule import Rule

_CODE = re.compile(r"^DJG[0-9]{3}$")
_NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


@functools.lru_cache(maxsize=1)
def all_rules() -> tuple[type[Rule], ...]:
    """Every concrete rule class, sorted by code."""
    found: dict[str, type[Rule]] = {}
    for module_info in pkgutil.iter_modules(rules_package.__path__):
        module = importlib.import_module(f"{rules_package.__name__}.{module_info.name}")
        for _, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, Rule) and value is not Rule and value.CODE:
                if value.__module__ != module.__name__:
                    continue
                other = found.get(value.CODE)
                if other is not None and other is not value:
                    raise RuntimeError(f"{value.CODE} is defined twice: {other} and {value}")
                check_rule(value)
                found[value.CODE] = value
    return tuple(found[code] for code in sorted(found))


def check_rule(rule: type[Rule]) -> None:
    """Raise when a rule class breaks the contract (bad code, name, missing docs)."""
    problems = []
    if not _CODE.match(rule.CODE) or rule.CODE == "DJG000":
        problems.append(f"code {rule.CODE!r} is not DJG + three digits")
    if not _NAME.match(rule.NAME):
        problems.append(f"name {rule.NAME!r} is not kebab-case")
    if not rule.MESSAGE or not rule.RATIONALE or not rule.GUIDE or not rule.__doc__:
        problems.append("MESSAGE, RATIONALE, GUIDE and a docstring are required")
    if not rule.VALID or not rule.INVALID:
        problems.append("at least one VALID and one INVALID example are required")
    if rule.FIX not in (None, "safe", "unsafe"):
        problems.append(f"FIX must be None, 'safe' or 'unsafe', not {rule.FIX!r}")
    if problems:
        raise RuntimeError(f"{rule.__name__}: " + "; ".join(problems))


def by_code() -> dict[str, type[Rule]]:
    """``{code: rule class}``."""
    return {rule.CODE: rule for rule in all_rules()}


def opt_in_codes() -> list[str]:
    """Codes of the rules that are off unless selected."""
    return [rule.CODE for rule in all_rules() if rule.OPT_IN]
