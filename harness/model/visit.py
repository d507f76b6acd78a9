"""One walk over the model's declarations, shared by everything derived from them.

Schema generation, the engines, synthetic data and the parameter checks each turn a
declared type into something else; they subclass `Visitor` and write one method per kind
of type, instead of each keeping its own `isinstance` ladder. `C` is what a walk carries
down (a depth, a field name); `R` what it makes.
"""

from __future__ import annotations

from typing import Generic, TypeVar

from harness.model._dsl import Alias, AnyObj, Arr, Bool, Definition, Int, Num, Obj, Ref, Str, Tup, Type, Union_

__all__ = ["Visitor"]

C = TypeVar("C")
R = TypeVar("R")

_TYPE_METHODS = {
    Str: "str_",
    Int: "int_",
    Num: "num",
    Bool: "bool_",
    Arr: "arr",
    Tup: "tup",
    Ref: "ref",
    AnyObj: "any_obj",
}
_DEFINITION_METHODS = {Obj: "obj", Union_: "union", Alias: "alias"}


class Visitor(Generic[C, R]):
    """Dispatches a declared type, or a definition, to the method for its kind."""

    def visit(self, t: Type, context: C) -> R:
        method = _TYPE_METHODS.get(type(t))
        if method is None:
            raise TypeError(f"not a model type: {t!r} (expected one of {', '.join(k.__name__ for k in _TYPE_METHODS)})")
        result: R = getattr(self, method)(t, context)
        return result

    def visit_definition(self, d: Definition, context: C) -> R:
        method = _DEFINITION_METHODS.get(type(d))
        if method is None:
            raise TypeError(f"not a model definition: {d!r} (expected Obj, Union_ or Alias)")
        result: R = getattr(self, method)(d, context)
        return result

    def _missing(self, kind: str) -> NotImplementedError:
        return NotImplementedError(f"{type(self).__name__} has no rule for {kind}")

    def str_(self, t: Str, context: C) -> R:
        raise self._missing("Str")

    def int_(self, t: Int, context: C) -> R:
        raise self._missing("Int")

    def num(self, t: Num, context: C) -> R:
        raise self._missing("Num")

    def bool_(self, t: Bool, context: C) -> R:
        raise self._missing("Bool")

    def arr(self, t: Arr, context: C) -> R:
        raise self._missing("Arr")

    def tup(self, t: Tup, context: C) -> R:
        raise self._missing("Tup")

    def ref(self, t: Ref, context: C) -> R:
        raise self._missing("Ref")

    def any_obj(self, t: AnyObj, context: C) -> R:
        raise self._missing("AnyObj")

    def obj(self, d: Obj, context: C) -> R:
        raise self._missing("Obj")

    def union(self, d: Union_, context: C) -> R:
        raise self._missing("Union_")

    def alias(self, d: Alias, context: C) -> R:
        raise self._missing("Alias")
