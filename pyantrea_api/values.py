"""`value`: this package's immutable record, a frozen slotted dataclass with a faster constructor.

A frozen dataclass's generated `__init__` sets every field through `object.__setattr__`, looked
up anew for each field of each object; a bulk computation makes over a million such objects, so
that lookup alone costs about a second. `value` makes the very same class with
`dataclass(frozen=True, slots=True)` and gives it an `__init__` that calls each slot's descriptor
directly, which halves construction time. Equality, hashing, repr, ordering and immutability are
dataclass's own; plain field defaults become the constructor's defaults. A class with default
factories, non-init fields or `__post_init__` keeps dataclass's `__init__`.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar, dataclass_transform

_T = TypeVar("_T")


@dataclass_transform(frozen_default=True)
def value(cls: type[_T]) -> type[_T]:
    """Class decorator: `dataclass(frozen=True, slots=True)` with a fast `__init__`."""
    made = dataclasses.dataclass(frozen=True, slots=True)(cls)
    fields = dataclasses.fields(made)
    plain = all(f.init and f.default_factory is dataclasses.MISSING for f in fields)
    if not plain or hasattr(made, "__post_init__"):
        return made
    names = [f.name for f in fields]
    scope: dict[str, Any] = {f"_set_{name}": getattr(made, name).__set__ for name in names}
    parameters = []
    for f in fields:  # plain defaults (immutable values) are the signature's own defaults
        if f.default is dataclasses.MISSING:
            parameters.append(f.name)
        else:
            scope[f"_default_{f.name}"] = f.default
            parameters.append(f"{f.name}=_default_{f.name}")
    body = "".join(f"    _set_{name}(self, {name})\n" for name in names) or "    pass\n"
    exec(f"def __init__(self, {', '.join(parameters)}):\n{body}", scope)
    init = scope["__init__"]
    init.__qualname__ = f"{made.__qualname__}.__init__"
    init.__module__ = made.__module__
    made.__init__ = init  # type: ignore[misc]
    return made
