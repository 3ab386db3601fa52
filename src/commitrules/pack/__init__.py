"""Rule packs: reading, validating, extending and compiling them."""

from __future__ import annotations

from ._load import DEFAULT_PACK, Clause, Pack, PackRuntime, Role, bundled_packs, load_pack
from ._values import Parameter, Table

__all__ = [
    "DEFAULT_PACK",
    "Clause",
    "Pack",
    "PackRuntime",
    "Parameter",
    "Role",
    "Table",
    "bundled_packs",
    "load_pack",
]
