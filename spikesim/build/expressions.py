"""A small, safe evaluator for the arithmetic expressions of a description (``-65 + 15*r**2``).

Only numbers, the names handed in, + - * / ** %, comparisons, ``where(cond, x, y)`` and a few
NumPy functions are allowed; anything else is a ``SpecError`` naming the expression.
"""

from __future__ import annotations

import ast
import operator
from typing import Any, Mapping

import numpy as np

from ..errors import SpecError

_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
    ast.Mod: operator.mod,
}
_COMPARE = {ast.Lt: np.less, ast.LtE: np.less_equal, ast.Gt: np.greater, ast.GtE: np.greater_equal}
_FUNCTIONS = {
    "exp": np.exp,
    "log": np.log,
    "sqrt": np.sqrt,
    "abs": np.abs,
    "sin": np.sin,
    "cos": np.cos,
    "floor": np.floor,
    "ceil": np.ceil,
    "minimum": np.minimum,
    "maximum": np.maximum,
    "where": np.where,
}


def evaluate(expr: str, names: Mapping[str, Any], path: str) -> Any:
    """Evaluate ``expr`` with ``names`` (scalars or arrays); errors name ``path``."""
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError:
        raise SpecError(path, f"cannot parse expression {expr!r}") from None
    with np.errstate(all="ignore"):
        return _evaluate_node(tree, names, expr, path)


def _evaluate_node(node: ast.AST, names: Mapping[str, Any], expr: str, path: str) -> Any:
    # A module-level function, not a closure that calls itself: such a closure is a reference
    # cycle, and the arrays in ``names`` would stay alive until the cyclic garbage collector runs
    # (gigabytes, for the per-block values of a large connection).
    def ev(child: ast.AST) -> Any:
        return _evaluate_node(child, names, expr, path)

    if isinstance(node, ast.Expression):
        return ev(node.body)
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return float(node.value)
    if isinstance(node, ast.Name):
        if node.id == "pi":
            return np.pi
        if node.id not in names:
            raise SpecError(path, f"unknown name {node.id!r} in {expr!r}; allowed: {', '.join(sorted(names))}")
        return names[node.id]
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        return _BINARY[type(node.op)](ev(node.left), ev(node.right))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = ev(node.operand)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _COMPARE:
        return _COMPARE[type(node.ops[0])](ev(node.left), ev(node.comparators[0]))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS and not node.keywords:
        return _FUNCTIONS[node.func.id](*[ev(arg) for arg in node.args])
    raise SpecError(
        path,
        f"{ast.unparse(node)!r} is not allowed in {expr!r}; allowed: numbers, names, + - * / ** %, "
        f"comparisons and {', '.join(_FUNCTIONS)}",
    )
