"""Rule families, one module each (see docs/rules.md).

Every module in this package is imported by :mod:`flake8_djguide.registry`,
and every :class:`~flake8_djguide.rule.Rule` subclass with a ``CODE`` in it is
a rule.
"""
