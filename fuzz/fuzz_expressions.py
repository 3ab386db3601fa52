"""Coverage-guided fuzz target for the condition compiler (run on demand).

    pip install atheris
    python fuzz/fuzz_expressions.py -atheris_runs=200000

Any text is either compiled or refused with an ExpressionError; nothing else escapes.
"""

from __future__ import annotations

import sys

from commitrules.errors import ExpressionError
from commitrules.expr import FieldType, Scope, StaticContext, compile_expression

SCOPE = Scope(
    fields={
        "amount": FieldType("decimal"),
        "channel": FieldType("str"),
        "age": FieldType("int", True),
    },
    prior_fields={"level": FieldType("int", True)},
    params={"limit": FieldType("decimal"), "words": FieldType("list")},
)
CONTEXT = StaticContext(params={"limit": 1, "words": ["a"]})

SEEDS = [
    b"amount > params.limit and channel in params.words",
    b"age >= 65 or prior.level < 3",
    b"((((((((((",
    "\uff41mount > 1 or channel == '\u3164'".encode(),
    "channel == '保本保收益'".encode(),
    b"\x00\xff\xfe",
]
EVENT = {"amount": 5, "channel": "web", "age": None}


def target(data: bytes) -> None:
    """One fuzz input: bytes as expression text."""
    text = data.decode("utf-8", errors="replace")
    try:
        compiled = compile_expression(text, SCOPE)
    except ExpressionError:
        return
    compiled(EVENT, None, CONTEXT)


def main() -> None:
    """Run under atheris."""
    import atheris  # noqa: PLC0415 - an optional tool

    atheris.instrument_all()
    atheris.Setup(sys.argv, target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
