"""A safe calculator: arithmetic over an AST whitelist, with bounds on size and work.

No names, attributes, calls other than a few math functions, or comprehensions
are accepted, so an expression cannot reach Python; exponents and operand
sizes are bounded, so it cannot burn the CPU either.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable
from typing import Any

MAX_EXPRESSION_CHARS = 200
MAX_EXPONENT = 1000
MAX_MAGNITUDE = 1e300

Number = int | float


class CalculationError(ValueError):
    """The expression is not plain arithmetic, or its result is out of bounds."""


_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {
    ast.UAdd: operator.pos,
    ast.USub: operator.neg,
}
_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "sqrt": math.sqrt,
    "abs": abs,
    "round": round,
    "min": min,
    "max": max,
    "floor": math.floor,
    "ceil": math.ceil,
    "log": math.log,
    "log10": math.log10,
}
_CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}


def evaluate(expression: str) -> Number:
    """The value of ``expression``; raises :class:`CalculationError` for anything else."""
    text = expression.strip().replace("^", "**").replace("\u00d7", "*").replace("\u00f7", "/")
    if not text:
        raise CalculationError("The expression is empty.")
    if len(text) > MAX_EXPRESSION_CHARS:
        raise CalculationError(f"The expression is longer than {MAX_EXPRESSION_CHARS} characters.")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        raise CalculationError("The expression is not valid arithmetic.") from None
    try:
        value = _eval(tree.body)
    except ZeroDivisionError:
        raise CalculationError("Division by zero.") from None
    except (OverflowError, ValueError) as exc:
        raise CalculationError(f"The result is out of range ({exc}).") from None
    _check_magnitude(value)
    return value


def format_number(value: Number) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, float):
        return f"{value:.10g}"
    return str(value)


def _eval(node: ast.AST) -> Number:
    if (
        isinstance(node, ast.Constant)
        and isinstance(node.value, int | float)
        and not isinstance(node.value, bool)
    ):
        return node.value
    if isinstance(node, ast.Name) and node.id in _CONSTANTS:
        return _CONSTANTS[node.id]
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _eval(node.left), _eval(node.right)
        if isinstance(node.op, ast.Pow):
            _check_power(left, right)
        result = _BINARY[type(node.op)](left, right)
        _check_magnitude(result)
        return result  # type: ignore[no-any-return]
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_eval(node.operand))  # type: ignore[no-any-return]
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in _FUNCTIONS
        and not node.keywords
        and 0 < len(node.args) <= 8
    ):
        args = [_eval(arg) for arg in node.args]
        return _FUNCTIONS[node.func.id](*args)  # type: ignore[no-any-return]
    raise CalculationError(
        "Only numbers, + - * / // % ^, parentheses and sqrt/abs/round/"
        "min/max/floor/ceil/log/log10 are allowed."
    )


def _check_power(base: Number, exponent: Number) -> None:
    if abs(exponent) > MAX_EXPONENT or (
        abs(base) > 1 and abs(exponent) * math.log10(abs(base)) > 300
    ):
        raise CalculationError("The power is too large.")


def _check_magnitude(value: Any) -> None:
    if isinstance(value, complex):
        raise CalculationError("The result is not a real number.")
    if isinstance(value, int | float) and abs(value) > MAX_MAGNITUDE:
        raise CalculationError("The result is too large.")
