"""Rule packs: reading, validating, extending and compiling them."""

from __future__ import annotations

from ._load import DEFAULT_PACK, Clause, Pack, PackRuntime, Role, bundled_packs, load_pack
from ._schema import file_schemas, schema_file
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
    "file_schemas",
    "load_pack",
    "schema_file",
]
