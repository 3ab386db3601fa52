"""Text to a checked Python syntax tree: bounds, parse, and a whitelist of node kinds.

The text is hostile until proven otherwise. It is bounded *before* Python's parser sees
it (length, one line, no control or bidirectional-override characters), parsed with
``ast.parse(mode="eval")`` (which builds a tree and never runs anything), and then every
node is checked against a short whitelist, with depth, size and literal bounds. What
passes holds only literals, names, ``prior.NAME`` / ``params.NAME``, the operators of
the language and calls of the built-in functions; the compiler decides the rest (names
against the scope, and types).
"""

from __future__ import annotations

import ast
import difflib
import unicodedata
import warnings
from decimal import Decimal, InvalidOperation

import attrs

from commitrules.errors import ExpressionError, Location

from .builtins import FUNCTIONS

__all__ = ["DEFAULT_LIMITS", "Limits", "ParsedExpression", "parse"]


@attrs.frozen
class Limits:
    """How big a condition may be; anything beyond is refused before it is compiled.

    >>> Limits().max_length
    2000
    """

    max_length: int = 2000  # characters
    max_depth: int = 40  # levels of nested sub-expressions
    max_nodes: int = 400  # sub-expressions in all
    max_int: int = 10**18  # absolute value of a number written in the condition
    max_string: int = 500  # characters of a text written in the condition
    max_list_items: int = 200  # items of a list written in the condition


DEFAULT_LIMITS = Limits()

# Characters that reorder how text is displayed: a reviewer would read something other
# than what runs ("Trojan Source", CVE-2021-42574).
_BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)

_LINE_BREAKS = frozenset("\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")

# Characters that show as nothing, or as a blank, yet are not a space: Unicode's
# Default_Ignorable_Code_Point characters outside the Cf and Cn categories (those are
# refused by category), and the Braille blank. In a text they make two texts that look
# alike differ; in a name ('amount\u3164') they make two names that look alike.
_INVISIBLE = frozenset(
    "\u034f\u115f\u1160\u17b4\u17b5\u180b\u180c\u180d\u180f\u2800\u3164\uffa0"
    + "".join(chr(c) for c in range(0xFE00, 0xFE10))
    + "".join(chr(c) for c in range(0xE0100, 0xE01F0))
)
_UNUSABLE = {"Cn": "unassigned", "Co": "private-use", "Cs": "surrogate"}

_NOT_ALLOWED: dict[type[ast.AST], str] = {
    ast.Subscript: "subscripts (x[...]) are not allowed",
    ast.Slice: "slices are not allowed",
    ast.Lambda: "lambda functions are not allowed",
    ast.ListComp: "comprehensions are not allowed",
    ast.SetComp: "comprehensions are not allowed",
    ast.DictComp: "comprehensions are not allowed",
    ast.GeneratorExp: "generator expressions are not allowed",
    ast.JoinedStr: "f-strings are not allowed",
    ast.FormattedValue: "f-strings are not allowed",
    ast.Starred: "starred arguments (*x) are not allowed",
    ast.NamedExpr: "assignment expressions (:=) are not allowed",
    ast.Dict: "dictionaries are not allowed",
    ast.Set: "sets ({...}) are not allowed; write a list [...]",
    ast.Await: "await is not allowed",
    ast.Yield: "yield is not allowed",
    ast.YieldFrom: "yield is not allowed",
}

_OPERATORS_NOT_ALLOWED: dict[type[ast.AST], str] = {
    ast.Pow: "the power operator ** is not allowed",
    ast.FloorDiv: "floor division // is not allowed; use /",
    ast.Mod: "the remainder operator % is not allowed",
    ast.MatMult: "the operator @ is not allowed",
    ast.LShift: "bit shifts are not allowed",
    ast.RShift: "bit shifts are not allowed",
    ast.BitAnd: "the bitwise operator & is not allowed; did you mean 'and'?",
    ast.BitOr: "the bitwise operator | is not allowed; did you mean 'or'?",
    ast.BitXor: "the bitwise operator ^ is not allowed",
    ast.Invert: "the bitwise operator ~ is not allowed; did you mean 'not'?",
}

_ALLOWED_BINARY = (ast.Add, ast.Sub, ast.Mult, ast.Div)
_ALLOWED_UNARY = (ast.Not, ast.USub, ast.UAdd)
_PLAIN_NODES = (ast.BoolOp, ast.Compare, ast.IfExp, ast.Name)


class ParsedExpression:
    """A condition's syntax tree that passed every check, and where each node sits."""

    __slots__ = ("_body", "_lead", "location", "text", "tree")

    def __init__(self, text: str, lead: int, location: Location | None) -> None:
        self.text = text  # as shown in errors: trailing whitespace removed
        self.location = location
        self._lead = lead  # leading blanks, which Python's parser does not accept
        self._body = text[lead:].encode("utf-8")
        self.tree: ast.expr = ast.Constant(value=None)

    def error(self, reason: str, offset: int) -> ExpressionError:
        """An ExpressionError at a 0-based character offset of the text."""
        return ExpressionError(
            reason,
            expression=self.text,
            offset=max(0, min(offset, len(self.text))),
            location=self.location,
        )

    def _column(self, col: int) -> int:
        # ast reports columns in UTF-8 bytes; errors speak in characters.
        return self._lead + len(self._body[:col].decode("utf-8", errors="replace"))

    def offset(self, node: ast.AST) -> int:
        """Where a node starts, in characters."""
        return self._column(getattr(node, "col_offset", 0))

    def end_offset(self, node: ast.AST) -> int:
        """Where a node ends (exclusive), in characters."""
        end = getattr(node, "end_col_offset", None)
        return self._column(end) if end is not None else self.offset(node)

    def segment(self, node: ast.AST) -> str:
        """The text a node was parsed from."""
        return self.text[self.offset(node) : self.end_offset(node)]

    def operator_offset(self, left: ast.AST, right: ast.AST) -> int:
        """Where the operator between two operands starts (after blanks and brackets)."""
        start, end = self.end_offset(left), self.offset(right)
        for index in range(start, end):
            if self.text[index] not in " \t()":
                return index
        return start

    def attribute_offset(self, node: ast.Attribute) -> int:
        """Where the name after the dot starts."""
        return self.end_offset(node) - len(node.attr)


def parse(text: str, *, location: Location | None, limits: Limits) -> ParsedExpression:
    """Check a condition's text and parse it into a tree of allowed nodes only.

    Raises:
        ExpressionError: for anything the language does not allow, at its offset.
    """
    if not isinstance(text, str):
        shown = repr(text)[:80]
        raise ExpressionError(
            f"a condition must be text, not {type(text).__name__}",
            expression=shown,
            offset=0,
            location=location,
        )
    shown = text.rstrip(" \t\r\n")
    if len(shown) > limits.max_length:
        raise ExpressionError(
            f"the condition is too long: {len(shown)} characters, at most {limits.max_length}",
            expression=shown[: limits.max_length],
            offset=limits.max_length,
            location=location,
        )
    body = shown.lstrip(" \t")
    parsed = ParsedExpression(shown, len(shown) - len(body), location)
    if not body:
        raise parsed.error("the condition is empty", 0)
    _check_characters(parsed)
    parsed.tree = _parse_python(parsed, body)
    # On one line, a comment can only follow the whole expression; it would hide text
    # from the reader as surely as from Python.
    comment = parsed.text.find("#", parsed.end_offset(parsed.tree))
    if comment >= 0:
        raise parsed.error("comments are not allowed in a condition", comment)
    _check_tree(parsed, limits)
    _check_names_are_ascii(parsed)
    return parsed


def _check_names_are_ascii(parsed: ParsedExpression) -> None:
    """Refuse any non-ASCII character outside a text literal.

    Python reads names NFKC-normalised: 'amount' with a full-width first letter (U+FF41)
    would read 'amount'. Field, parameter and function names are ASCII; so are a condition's.
    """
    if parsed.text.isascii():
        return
    texts = [
        (parsed.offset(node), parsed.end_offset(node))
        for node in ast.walk(parsed.tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]
    for index, char in enumerate(parsed.text):
        if char.isascii() or any(start <= index < end for start, end in texts):
            continue
        folded = unicodedata.normalize("NFKC", char)
        hint = f"; Python would read it as {folded!r}" if folded.isascii() else ""
        raise parsed.error(
            f"names are ASCII: the character {char!r} (U+{ord(char):04X} "
            f"{unicodedata.name(char, 'unnamed')}) is only allowed inside a text{hint}",
            index,
        )


def _check_characters(parsed: ParsedExpression) -> None:
    for index, char in enumerate(parsed.text):
        if char.isascii() and char.isprintable():
            continue
        if char in _LINE_BREAKS:
            raise parsed.error("a condition must fit on one line", index)
        if char == "\t":
            continue
        category = unicodedata.category(char)
        if category == "Cc":
            raise parsed.error(f"the control character U+{ord(char):04X} is not allowed", index)
        if char in _BIDI_CONTROLS:
            raise parsed.error(
                f"the invisible direction-changing character U+{ord(char):04X} is not allowed",
                index,
            )
        if category == "Cf":
            # Zero-width and other invisible characters make two texts that look alike
            # differ ('branch' and 'branch\u200b'), which a reviewer cannot see.
            raise parsed.error(
                f"the invisible formatting character U+{ord(char):04X} is not allowed", index
            )
        if char in _INVISIBLE or category == "Zs":
            kind = "space-like" if category == "Zs" else "invisible filler"
            code = ord(char)
            escape = f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"
            raise parsed.error(
                f"the {kind} character U+{code:04X} ({unicodedata.name(char, 'unnamed')}) "
                f"is not allowed: it cannot be told apart from "
                f"{'a space' if category == 'Zs' else 'nothing'}; inside a text, write it as "
                f"the escape {escape} if it is meant",
                index,
            )
        if category in _UNUSABLE:
            raise parsed.error(
                f"the {_UNUSABLE[category]} character U+{ord(char):04X} is not allowed", index
            )


def _parse_python(parsed: ParsedExpression, body: str) -> ast.expr:
    lead = len(parsed.text) - len(body)
    try:
        # What the parser would only warn about (an invalid escape such as '\d', a number
        # run into a keyword) is refused rather than printed to stderr. Only the parser's own
        # categories become errors (SyntaxWarning; DeprecationWarning on Python 3.11), and
        # only for this call: other warnings keep the application's filters.
        with warnings.catch_warnings():
            warnings.filterwarnings("error", category=SyntaxWarning)
            warnings.filterwarnings("error", category=DeprecationWarning)
            tree = ast.parse(body, mode="eval")
    except SyntaxError as error:
        offset = lead + (error.offset - 1 if error.offset else 0)
        if error.lineno is not None and error.lineno > 1:
            offset = len(parsed.text)
        raise parsed.error(f"cannot read the condition: {error.msg}", offset) from None
    except (RecursionError, MemoryError):
        raise parsed.error("the condition is nested too deeply to read", 0) from None
    except (ValueError, Warning) as error:
        raise parsed.error(f"cannot read the condition: {error}", 0) from None
    return tree.body


def _check_tree(parsed: ParsedExpression, limits: Limits) -> None:
    # An explicit stack, not recursion: the tree is not yet known to be shallow.
    stack: list[tuple[ast.expr, int]] = [(parsed.tree, 1)]
    count = 0
    while stack:
        node, depth = stack.pop()
        if depth > limits.max_depth:
            raise parsed.error(
                f"the condition is nested too deeply (more than {limits.max_depth} levels)",
                parsed.offset(node),
            )
        count += 1
        if count > limits.max_nodes:
            raise parsed.error(
                f"the condition is too complex (more than {limits.max_nodes} parts)",
                parsed.offset(node),
            )
        _check_node(parsed, node, limits)
        children = [child for child in ast.iter_child_nodes(node) if isinstance(child, ast.expr)]
        stack.extend((child, depth + 1) for child in reversed(children))


def _check_node(parsed: ParsedExpression, node: ast.expr, limits: Limits) -> None:
    if isinstance(node, _PLAIN_NODES):
        return
    if isinstance(node, ast.Constant):
        _check_constant(parsed, node, limits)
    elif isinstance(node, ast.Attribute):
        if not (isinstance(node.value, ast.Name) and node.value.id in ("prior", "params")):
            raise parsed.error(
                "attribute access is not allowed: only prior.NAME and params.NAME",
                parsed.attribute_offset(node),
            )
    elif isinstance(node, ast.List | ast.Tuple):
        if len(node.elts) > limits.max_list_items:
            raise parsed.error(
                f"a list may hold at most {limits.max_list_items} items",
                parsed.offset(node.elts[limits.max_list_items]),
            )
    elif isinstance(node, ast.BinOp):
        if not isinstance(node.op, _ALLOWED_BINARY):
            reason = _OPERATORS_NOT_ALLOWED.get(type(node.op), "this operator is not allowed")
            raise parsed.error(reason, parsed.operator_offset(node.left, node.right))
    elif isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, _ALLOWED_UNARY):
            reason = _OPERATORS_NOT_ALLOWED.get(type(node.op), "this operator is not allowed")
            raise parsed.error(reason, parsed.offset(node))
    elif isinstance(node, ast.Call):
        _check_call(parsed, node)
    else:
        reason = _NOT_ALLOWED.get(type(node), f"{type(node).__name__} is not allowed")
        raise parsed.error(reason, parsed.offset(node))


def _check_constant(parsed: ParsedExpression, node: ast.Constant, limits: Limits) -> None:
    value = node.value
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, int):
        if abs(value) > limits.max_int:
            raise parsed.error(
                f"the number is too large: at most {limits.max_int} either side of 0",
                parsed.offset(node),
            )
    elif isinstance(value, float):
        number = decimal_literal(parsed, node)
        if not number.is_finite() or abs(number) > limits.max_int:
            raise parsed.error(
                f"the number is too large: at most {limits.max_int} either side of 0",
                parsed.offset(node),
            )
    elif isinstance(value, str):
        if len(value) > limits.max_string:
            raise parsed.error(
                f"a text may be at most {limits.max_string} characters", parsed.offset(node)
            )
    elif isinstance(value, complex):
        raise parsed.error("imaginary numbers are not allowed", parsed.offset(node))
    elif isinstance(value, bytes):
        raise parsed.error("bytes literals (b'...') are not allowed", parsed.offset(node))
    else:
        raise parsed.error(f"{parsed.segment(node)!r} is not allowed", parsed.offset(node))


def decimal_literal(parsed: ParsedExpression, node: ast.Constant) -> Decimal:
    """A number with a point or exponent, exactly as written (never through a float)."""
    written = parsed.segment(node).replace("_", "")
    try:
        return Decimal(written)
    except InvalidOperation:  # pragma: no cover - Python's parser accepted it as a number
        raise parsed.error(f"cannot read the number {written!r}", parsed.offset(node)) from None


def _check_call(parsed: ParsedExpression, node: ast.Call) -> None:
    if isinstance(node.func, ast.Attribute):
        hint = f"; write {node.func.attr}(...)" if node.func.attr in FUNCTIONS else ""
        raise parsed.error(
            f"calling methods is not allowed{hint}", parsed.attribute_offset(node.func)
        )
    if not isinstance(node.func, ast.Name):
        raise parsed.error("only the built-in functions can be called", parsed.offset(node))
    name = node.func.id
    function = FUNCTIONS.get(name)
    if function is None:
        close = difflib.get_close_matches(name, list(FUNCTIONS), n=1)
        hint = (
            f"; did you mean {close[0]!r}?"
            if close
            else f"; the functions are: {', '.join(sorted(FUNCTIONS))}"
        )
        raise parsed.error(f"unknown function {name!r}{hint}", parsed.offset(node))
    if node.keywords:
        raise parsed.error(
            f"{name}() takes positional arguments only", parsed.offset(node.keywords[0])
        )
    count = len(node.args)
    if count < function.min_args or (function.max_args is not None and count > function.max_args):
        raise parsed.error(
            f"{name}() takes {function.arity()} ({count} given): {function.signature}",
            parsed.offset(node),
        )
