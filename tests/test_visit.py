"""The model's one walk: every kind of type and definition reaches its method, or fails naming it."""

from __future__ import annotations

import pytest

from harness.model import DEFINITIONS, Alias, AnyObj, Arr, Bool, Int, Num, Obj, Ref, Str, Tup, Type, Union_
from harness.model.visit import Visitor


class Names(Visitor[int, str]):
    """Names each kind, and counts the depth it was reached at."""

    def str_(self, t: Str, depth: int) -> str:
        return f"str@{depth}"

    def int_(self, t: Int, depth: int) -> str:
        return f"int@{depth}"

    def num(self, t: Num, depth: int) -> str:
        return "num"

    def bool_(self, t: Bool, depth: int) -> str:
        return "bool"

    def arr(self, t: Arr, depth: int) -> str:
        return f"arr[{self.visit(t.items, depth + 1)}]"

    def tup(self, t: Tup, depth: int) -> str:
        return "tup(" + ",".join(self.visit(i, depth + 1) for i in t.items) + ")"

    def ref(self, t: Ref, depth: int) -> str:
        return f"ref:{t.name}"

    def any_obj(self, t: AnyObj, depth: int) -> str:
        return "any"

    def obj(self, d: Obj, depth: int) -> str:
        return f"obj:{d.name}"

    def union(self, d: Union_, depth: int) -> str:
        return f"union:{d.name}"

    def alias(self, d: Alias, depth: int) -> str:
        return f"alias:{d.name}:{self.visit(d.type, depth)}"


@pytest.mark.parametrize(
    ("t", "named"),
    [
        (Str(), "str@0"),
        (Int(), "int@0"),
        (Num(), "num"),
        (Bool(), "bool"),
        (Arr(Arr(Int())), "arr[arr[int@2]]"),
        (Tup((Int(), Str())), "tup(int@1,str@1)"),
        (Ref("Tweet"), "ref:Tweet"),
        (AnyObj(), "any"),
    ],
)
def test_each_kind_of_type_reaches_its_method(t: Type, named: str) -> None:
    assert Names().visit(t, 0) == named


def test_every_definition_of_the_model_reaches_its_method() -> None:
    kinds = {Names().visit_definition(d, 0).split(":")[0] for d in DEFINITIONS.values()}
    assert kinds == {"obj", "union", "alias"}


def test_a_kind_a_walker_leaves_out_is_named() -> None:
    class OnlyStrings(Visitor[None, str]):
        def str_(self, t: Str, context: None) -> str:
            return "s"

    with pytest.raises(NotImplementedError, match="OnlyStrings has no rule for Int"):
        OnlyStrings().visit(Int(), None)


def test_what_is_not_a_model_type_is_refused_with_the_valid_kinds() -> None:
    with pytest.raises(TypeError, match="expected one of Str, Int"):
        Names().visit("a string", 0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="expected Obj, Union_ or Alias"):
        Names().visit_definition(Str(), 0)  # type: ignore[arg-type]
