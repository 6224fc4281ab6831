"""The ORM analysis behind DJG201-DJG204 and DJG206-DJG208 (queryset data flow).

One analysis per parsed chunk, shared by the rules through the file context
(:func:`flake8_djguide.orm.analysis.analysis_for`). It walks each function (and the
module and class bodies) itself, in source order, keeping what the engine's flat walk
cannot: the loops the code is in (and whether a ``break``/``return`` makes a block run
once), the local variables and what was assigned to them, and the class a method
belongs to.

The parts, each readable on its own:

- :mod:`.values`: the values followed (model classes, querysets and what they load,
  instances, related managers) and how the values of several branches merge;
- :mod:`.scope`: the bindings of a function, the module or a class body, and a class
  statement's attributes and methods;
- :mod:`.nodes`: small helpers on libcst nodes;
- :mod:`.summaries`: what custom manager/QuerySet methods and the file's own methods
  and classes return and load;
- :mod:`.base`: the state the parts share, reporting, the model index;
- :mod:`.interpreter`, :mod:`.expressions`, :mod:`.rows`: the per-function interpreter
  (statements and loops; expressions; reads of rows and the N+1 findings);
- :mod:`.drf`: DRF views and serializers (DJG203);
- :mod:`.sql`: raw SQL (DJG204, DJG206);
- :mod:`.analysis`: :class:`~.analysis.Analysis` assembled from the parts.

Anything the analysis cannot follow is unknown, and unknown never produces a finding.
"""
