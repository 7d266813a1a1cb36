"""stap's 64-bit integer arithmetic on constants (runtime/linux/arith.c), for folding."""
from __future__ import annotations

MASK = (1 << 64) - 1


def wrap(v: int) -> int:
    v &= MASK
    return v - (1 << 64) if v >= 1 << 63 else v


def binary_op(op: str, a: int, b: int):
    """The folded value, or None when it must stay (division by 0 is a run-time error)."""
    if op == "+":
        return wrap(a + b)
    if op == "-":
        return wrap(a - b)
    if op == "*":
        return wrap(a * b)
    if op in ("/", "%"):
        if b == 0:
            return None
        q = abs(a) // abs(b)
        if (a < 0) != (b < 0):
            q = -q
        return wrap(q) if op == "/" else wrap(a - q * b)
    if op == "&":
        return wrap(a & b)
    if op == "|":
        return wrap(a | b)
    if op == "^":
        return wrap(a ^ b)
    if op == "<<":
        return wrap(a << (b & 63))
    if op == ">>":
        return wrap(a >> (b & 63))
    if op == ">>>":
        return wrap((a & MASK) >> (b & 63))
    if op in ("&&", "||"):
        return int(bool(a) and bool(b)) if op == "&&" else int(bool(a) or bool(b))
    if op in ("<", ">", "<=", ">=", "==", "!="):
        return int({"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b, "==": a == b, "!=": a != b}[op])
    return None
