"""A griffe extension for the API reference (docs/api.md): the docstrings' reStructuredText
(``literal``, :role:`target`, ``.. code-block::``) as Markdown, and their doctest examples
(``>>>`` lines and the output that follows) as ``pycon`` code blocks.

Loaded by mkdocstrings from mkdocs.yml; it reads nothing but the docstrings.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

import griffe

_spec = importlib.util.spec_from_file_location(
    "docs_generate", Path(__file__).with_name("generate.py")
)
assert _spec is not None
assert _spec.loader is not None
_generate = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_generate)

_PROMPT = re.compile(r"^(\s*)>>> ")


def doctests_as_code(text: str) -> str:
    """Each run of doctest lines (from ``>>>`` to the next blank line) as a fenced block.

    >>> doctests_as_code("An example:\\n\\n>>> 1 + 1\\n2\\n\\nDone.").splitlines()
    ['An example:', '', '```pycon', '>>> 1 + 1', '2', '```', '', 'Done.']
    """
    lines = text.splitlines()
    out: list[str] = []
    inside = False
    fence = False
    for line in lines:
        if not inside and _PROMPT.match(line) and not fence:
            indent = _PROMPT.match(line).group(1)  # type: ignore[union-attr]
            out.append(f"{indent}```pycon")
            inside = True
        elif inside and not line.strip():
            out.append(f"{indent}```")
            inside = False
        if line.lstrip().startswith("```") and not inside:
            fence = not fence
        out.append(line)
    if inside:
        out.append(f"{indent}```")
    return "\n".join(out)


class Docstrings(griffe.Extension):
    """Rewrites every docstring as it is loaded."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            markdown = _generate.rst_to_markdown(obj.docstring.value)
            obj.docstring.value = doctests_as_code(markdown).rstrip("\n")
