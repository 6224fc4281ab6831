"""Django templates read without Django: what each template's loops read per row.

:mod:`.parse` turns a template's text into facts (JSON data: its loops, ``with``
aliases, includes, ``extends`` and blocks, and the attribute chains read, each
with its line); :mod:`.loader` finds a project's template directories and keeps
those facts in the index cache. Nothing here imports Django or the project.
"""
