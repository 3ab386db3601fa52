"""A second decoder for JSON events, generated from the pydantic models (msgspec).

pydantic stays the public schema and the reference: this decoder only takes the events it
can decide exactly as pydantic would, and declines everything else (``decode`` returns
None), which then goes through pydantic, so pydantic builds every error users read. What
it accepts, pydantic accepts with equal values written the same way (the property test
``tests/test_event_decoder.py`` checks it over every built-in and pack-declared type).

Where msgspec and pydantic differ, the decoder is narrower than both:

- unknown fields are refused (structs with ``forbid_unknown_fields``), as the models forbid
  them (a msgspec TypedDict would ignore them);
- booleans are only ``true``/``false``, whole numbers only JSON integers, text only JSON
  strings: pydantic's lax forms (``"yes"``, ``1`` for a boolean, ``3.0`` or ``"3"`` for a
  number) are declined;
- decimals are taken from text of plain digits (at most 20 before the point and 18 after,
  what ``decimal128(38, 18)`` holds) or from JSON integers up to 2**53, and their bounds
  are checked in Python (msgspec's ``ge``/``le`` on a ``Decimal`` raise ``TypeError``);
  JSON fractions are declined (pydantic reads them through a float: ``1.50`` becomes
  ``Decimal('1.5')``);
- timestamps are read as text and checked by the same code as the pydantic path
  (RFC 3339 with an offset, within 1900-2200); any other form is declined;
- a type whose fields use anything else is not decoded here at all;
- a key written twice in one event: msgspec keeps the last value; so does pydantic 2.14,
  but older pydantic (2.7 keeps the first) does not, so the decoder asks the installed
  pydantic once (:func:`pydantic_keeps_last`) and is off (everything goes through
  pydantic) when it keeps the first.
"""

from __future__ import annotations

import functools
import keyword
import re
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
import attrs
import msgspec

if TYPE_CHECKING:
    from .events import EventType

__all__ = [
    "FastDecoder",
    "FieldRule",
    "UnsupportedError",
    "decimal_value",
    "decimal_within",
    "field_rule",
]

_PLAIN_DECIMAL = re.compile(r"-?[0-9]{1,20}(?:\.[0-9]{1,18})?", re.ASCII).fullmatch
"""Decimal text the decoder takes: what pydantic and ``Decimal()`` read the same way,
within 38 digits, 18 after the point (anything else goes to pydantic)."""
_EXACT_INT = 2**53


class UnsupportedError(Exception):
    """A field the decoder cannot decide exactly as pydantic does."""


def _constraints(metadata: Iterable[Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for item in metadata:
        if isinstance(item, annotated_types.Ge):
            found["ge"] = item.ge
        elif isinstance(item, annotated_types.Le):
            found["le"] = item.le
        elif isinstance(item, annotated_types.MinLen):
            found["min_length"] = item.min_length
        elif isinstance(item, annotated_types.MaxLen):
            found["max_length"] = item.max_length
        elif type(item).__name__ == "AllowInfNan" and not getattr(item, "allow_inf_nan", True):
            found["finite"] = True
        elif type(item).__name__ == "_PydanticGeneralMetadata":
            extra = dict(vars(item))
            if set(extra) - {"max_digits", "decimal_places", "allow_inf_nan"}:
                raise UnsupportedError(repr(item))
            # allow_inf_nan here in older pydantic: either way, the decoder takes plain
            # digits only (infinities and NaN go to pydantic).
            if not extra.pop("allow_inf_nan", True):
                found["finite"] = True
            found.update(extra)
        elif hasattr(item, "metadata") and hasattr(item, "annotation"):  # a FieldInfo
            found.update(_constraints(item.metadata))
        else:
            raise UnsupportedError(repr(item))
    return found


@attrs.frozen
class FieldRule:
    """What a field takes, for the fields a decoder can decide exactly as pydantic does.

    ``kind`` is ``str``, ``bool``, ``int``, ``decimal``, ``literal`` (text among
    ``values``) or ``list`` (a list of text, among ``values`` when they are given);
    ``lowest``/``highest`` bound whole numbers and decimals, ``shortest``/``longest`` the
    length of text. Built by :func:`field_rule`, which raises for anything else.
    """

    kind: str
    optional: bool = False
    lowest: Any = None
    highest: Any = None
    shortest: int | None = None
    longest: int | None = None
    values: tuple[str, ...] | None = None


def field_rule(annotation: Any, metadata: Iterable[Any]) -> FieldRule:
    """The rule of a field (its annotation and pydantic metadata).

    Raises:
        UnsupportedError: a type or a constraint the decoders do not decide themselves.
    """
    found = _constraints(metadata)
    optional = False
    origin = get_origin(annotation)
    if origin is Union or str(origin) == "<class 'types.UnionType'>":
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) != 1:
            raise UnsupportedError(repr(annotation))
        optional = len(get_args(annotation)) == 2
        annotation = args[0]
        origin = get_origin(annotation)
    if origin is Annotated:
        base, *more = get_args(annotation)
        found.update(_constraints(more))
        annotation = base
        origin = get_origin(annotation)
    if annotation is str:
        rule = FieldRule(
            "str",
            optional,
            shortest=found.pop("min_length", None),
            longest=found.pop("max_length", None),
        )
    elif annotation is bool:
        rule = FieldRule("bool", optional)
    elif annotation is int:
        rule = FieldRule("int", optional, found.pop("ge", None), found.pop("le", None))
    elif annotation is Decimal:
        digits = found.pop("max_digits", None)
        places = found.pop("decimal_places", None)
        if digits is None or digits < 38 or places is None or places < 18:
            raise UnsupportedError("a decimal narrower than decimal128(38, 18)")
        found.pop("finite", None)  # plain digits are always finite
        lowest, highest = found.pop("ge", None), found.pop("le", None)
        rule = FieldRule(
            "decimal",
            optional,
            None if lowest is None else Decimal(lowest),
            None if highest is None else Decimal(highest),
        )
    elif origin is Literal and all(type(v) is str for v in get_args(annotation)):
        rule = FieldRule("literal", optional, values=get_args(annotation))
    elif origin is list:
        (item,) = get_args(annotation)
        if item is str:
            rule = FieldRule("list", optional)
        elif get_origin(item) is Literal and all(type(v) is str for v in get_args(item)):
            rule = FieldRule("list", optional, values=get_args(item))
        else:
            raise UnsupportedError(repr(annotation))
    else:
        raise UnsupportedError(repr(annotation))
    if found:
        raise UnsupportedError(f"constraints {sorted(found)}")
    return rule


def _limited(base: type, **limits: Any) -> Any:
    """``base`` with msgspec's checks of the limits that are given (None: no limit)."""
    given = {name: value for name, value in limits.items() if value is not None}
    return Annotated[base, msgspec.Meta(**given)] if given else base


def _field(annotation: Any, metadata: Iterable[Any]) -> tuple[Any, dict[str, Any] | None]:
    """The msgspec type of a field, and its decimal checks (None for other fields)."""
    rule = field_rule(annotation, metadata)
    decimal: dict[str, Any] | None = None
    kind: Any
    if rule.kind == "str":
        kind = _limited(str, min_length=rule.shortest, max_length=rule.longest)
    elif rule.kind == "bool":
        kind = bool
    elif rule.kind == "int":
        kind = _limited(int, ge=rule.lowest, le=rule.highest)
    elif rule.kind == "decimal":
        decimal = {"ge": rule.lowest, "le": rule.highest}
        kind = str | int
    elif rule.kind == "literal":
        kind = Literal[rule.values]
    else:
        item: Any = str if rule.values is None else Literal[rule.values]
        kind = list[item]
    return (kind | None if rule.optional else kind), decimal


#: A decimal field's checks: (name, lowest or None, highest or None).
DecimalField = tuple[str, Decimal | None, Decimal | None]


def _struct(event_type: EventType) -> tuple[type[msgspec.Struct], tuple[DecimalField, ...]]:
    """A struct for one event type (its tag the type's name), and its decimal fields."""
    times = dict(event_type.times)
    fields: list[tuple[str, Any, Any]] = []
    decimals: list[DecimalField] = []
    for name, info in event_type.model.model_fields.items():
        if name == "type":
            continue
        if not name.isidentifier() or keyword.iskeyword(name) or name.startswith("_"):
            raise UnsupportedError(f"field name {name!r}")
        if name in times:
            kind: Any = (str | None) if times[name] else str
            decimal = None
        else:
            kind, decimal = _field(info.annotation, info.metadata)
        if info.is_required():
            fields.append((name, kind, msgspec.NODEFAULT))
        else:
            default = info.get_default(call_default_factory=True)
            if default == [] and type(default) is list:  # a fresh empty list each event
                fields.append((name, kind, msgspec.field(default_factory=list)))
                continue
            if default is not None and type(default) not in (str, int, bool):
                raise UnsupportedError(f"default {default!r}")
            fields.append((name, kind, default))
        if decimal is not None:
            decimals.append((name, decimal["ge"], decimal["le"]))
    struct = msgspec.defstruct(
        f"{event_type.model.__name__}Struct",
        fields,
        tag_field="type",
        tag=event_type.name,
        forbid_unknown_fields=True,
        kw_only=True,
    )
    return struct, tuple(decimals)


def decimal_value(value: Any) -> Decimal | None:
    """A decimal field's value as pydantic reads it, or None when pydantic must decide."""
    if type(value) is str:
        if _PLAIN_DECIMAL(value) is None:
            return None
        return Decimal(value)
    if -_EXACT_INT <= value <= _EXACT_INT:
        return Decimal(value)
    return None


def decimal_within(value: Any, lowest: Decimal | None, highest: Decimal | None) -> Decimal | None:
    """:func:`decimal_value` within the bounds given, or None when pydantic must decide."""
    number = decimal_value(value)
    if (
        number is None
        or (lowest is not None and number < lowest)
        or (highest is not None and number > highest)
    ):
        return None
    return number


@functools.cache
def pydantic_keeps_last() -> bool:
    """Whether the installed pydantic keeps the last value of a key written twice in a
    JSON event (as msgspec does), asked of a union of typed dicts like the catalog's."""
    from pydantic import Field, TypeAdapter  # noqa: PLC0415 - once, when first asked
    from typing_extensions import TypedDict  # noqa: PLC0415

    class First(TypedDict):
        type: Literal["first"]
        value: str

    class Second(TypedDict):
        type: Literal["second"]
        value: str

    union: Any = Annotated[Union[First, Second], Field(discriminator="type")]  # noqa: UP007
    probe = TypeAdapter(union).validate_json('{"type": "first", "value": "a", "value": "b"}')
    return bool(probe["value"] == "b")


class FastDecoder:
    """Decodes the JSON events of a catalog's types it can decide exactly as pydantic does.

    ``decode(data)`` returns the engine's dict (every declared field, defaults filled,
    timestamps still text) or None when the event is not one it takes.
    """

    __slots__ = ("_decode", "_types", "types")

    def __init__(self, types: Iterable[EventType]) -> None:
        structs: list[type[msgspec.Struct]] = []
        #: struct -> (type name, decimal fields)
        self._types: dict[type[msgspec.Struct], tuple[str, tuple[DecimalField, ...]]] = {}
        for event_type in types:
            try:
                struct, decimals = _struct(event_type)
            except UnsupportedError:
                continue
            structs.append(struct)
            self._types[struct] = (event_type.name, decimals)
        #: The types decoded here (the others always go through pydantic).
        self.types: tuple[str, ...] = tuple(name for name, _ in self._types.values())
        if not structs or not pydantic_keeps_last():
            self._decode: Callable[[Any], Any] | None = None
            return
        union: Any = structs[0] if len(structs) == 1 else Union[tuple(structs)]  # noqa: UP007
        self._decode = msgspec.json.Decoder(union).decode

    def decode(self, data: bytes | str) -> dict[str, Any] | None:
        """The event as the engine's dict (timestamps unread), or None: use pydantic."""
        decode = self._decode
        if decode is None:
            return None
        try:
            struct = decode(data)
        except Exception:  # noqa: BLE001 - whatever it is, pydantic decides and explains
            return None
        name, decimals = self._types[type(struct)]
        checked = _asdict(struct)
        checked["type"] = name
        for field, lowest, highest in decimals:
            value = checked[field]
            if value is None:
                continue
            value = decimal_within(value, lowest, highest)
            if value is None:
                return None
            checked[field] = value
        return checked


_asdict = msgspec.structs.asdict
