"""The ``qualify`` / ``stop_if`` expression language of agent scripts: parsed here, never by Python ``eval``.

Grammar (keywords are case-insensitive)::

    expr       := or_expr
    or_expr    := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | comparison
    comparison := operand (("==" | "!=" | "<" | "<=" | ">" | ">=") operand)?
    operand    := NAME | NUMBER | STRING | "true" | "false" | "(" expr ")"

``NUMBER`` accepts ``2000``, ``2,000``, ``2.5`` and ``_`` separators; ``STRING`` is single- or double-quoted.

Evaluation is over the call's slots. A slot the lead never answered (absent or ``None``) is falsy, and any
comparison involving it is false (so ``not_answered != 'x'`` is false too): an unknown answer never qualifies
a lead by accident. Comparing a number with a string is false rather than an error for the same reason.
:func:`verdict` goes one step further for slots the lead did answer but unclearly: an expression that turns on
one of them is undecided (``needs_review``) rather than false.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "BoolOp",
    "Compare",
    "Expr",
    "Literal",
    "Name",
    "Not",
    "QualifyError",
    "parse_expression",
    "verdict",
]

KEYWORDS = frozenset({"and", "or", "not", "true", "false"})
COMPARISON_OPS = ("==", "!=", "<=", ">=", "<", ">")


class QualifyError(ValueError):
    """A syntax or name error in an expression; ``position`` is the 0-based character offset."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"{message} at position {position}")
        self.message = message
        self.position = position


# -- AST -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Literal:
    value: bool | int | float | str
    position: int

    def evaluate(self, slots: Mapping[str, Any]) -> Any:
        return self.value


@dataclass(frozen=True)
class Name:
    name: str
    position: int

    def evaluate(self, slots: Mapping[str, Any]) -> Any:
        return slots.get(self.name)


@dataclass(frozen=True)
class Not:
    operand: Expr
    position: int

    def evaluate(self, slots: Mapping[str, Any]) -> Any:
        return not _truthy(self.operand.evaluate(slots))


@dataclass(frozen=True)
class BoolOp:
    op: str  # "and" | "or"
    operands: tuple[Expr, ...]
    position: int

    def evaluate(self, slots: Mapping[str, Any]) -> Any:
        if self.op == "and":
            return all(_truthy(o.evaluate(slots)) for o in self.operands)
        return any(_truthy(o.evaluate(slots)) for o in self.operands)


@dataclass(frozen=True)
class Compare:
    op: str
    left: Expr
    right: Expr
    position: int

    def evaluate(self, slots: Mapping[str, Any]) -> Any:
        a, b = self.left.evaluate(slots), self.right.evaluate(slots)
        if a is None or b is None:
            return False
        if isinstance(a, str) != isinstance(b, str):
            return False
        if isinstance(a, str) and isinstance(b, str):
            a, b = a.casefold(), b.casefold()
        try:
            match self.op:
                case "==":
                    return bool(a == b)
                case "!=":
                    return bool(a != b)
                case "<":
                    return bool(a < b)
                case "<=":
                    return bool(a <= b)
                case ">":
                    return bool(a > b)
                case ">=":
                    return bool(a >= b)
        except TypeError:
            return False
        raise AssertionError(self.op)  # the parser only builds the operators above


Expr = Literal | Name | Not | BoolOp | Compare


def _truthy(value: Any) -> bool:
    return value is not None and bool(value)


def evaluate(expr: Expr, slots: Mapping[str, Any]) -> bool:
    return _truthy(expr.evaluate(slots))


def verdict(expr: Expr, slots: Mapping[str, Any], unknown: Collection[str]) -> bool | None:
    """True or False when the answers decide ``expr``; None when it turns on a slot in ``unknown``.

    ``unknown`` holds the slots the lead answered in words we could not read (asked twice, still unclear). They
    are not "no": three-valued logic (Kleene's) keeps ``unclear and false`` false and ``unclear or true`` true,
    and leaves the rest undecided, for a person to review rather than for the expression to turn down."""
    match expr:
        case Name() if expr.name in unknown:
            return None
        case Not():
            inner = verdict(expr.operand, slots, unknown)
            return None if inner is None else not inner
        case BoolOp():
            results = [verdict(o, slots, unknown) for o in expr.operands]
            decisive = expr.op == "or"  # the value that settles the operator on its own
            if decisive in results:
                return decisive
            return None if None in results else not decisive
        case Compare() if any(n.name in unknown for n in names(expr)):
            return None
    return evaluate(expr, slots)


def names(expr: Expr) -> list[Name]:
    """Every slot name the expression reads, in source order."""
    match expr:
        case Name():
            return [expr]
        case Not():
            return names(expr.operand)
        case BoolOp():
            return [n for o in expr.operands for n in names(o)]
        case Compare():
            return names(expr.left) + names(expr.right)
    return []


def comparisons(expr: Expr) -> list[Compare]:
    match expr:
        case Not():
            return comparisons(expr.operand)
        case BoolOp():
            return [c for o in expr.operands for c in comparisons(o)]
        case Compare():
            return [expr, *comparisons(expr.left), *comparisons(expr.right)]
    return []


# -- tokenizer -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Token:
    kind: str  # name | number | string | op | lparen | rparen | keyword | end
    text: str
    position: int
    value: Any = None


_NUMBER_RE = re.compile(r"\d[\d,_]*(?:\.\d+)?")
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _tokenize(source: str) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    while i < len(source):
        ch = source[i]
        if ch.isspace():
            i += 1
            continue
        if ch == "(":
            tokens.append(_Token("lparen", ch, i))
            i += 1
            continue
        if ch == ")":
            tokens.append(_Token("rparen", ch, i))
            i += 1
            continue
        op = next((o for o in COMPARISON_OPS if source.startswith(o, i)), None)
        if op is not None:
            tokens.append(_Token("op", op, i))
            i += len(op)
            continue
        if ch == "=":
            raise QualifyError("use '==' to compare, not '='", i)
        if ch in "'\"":
            end = source.find(ch, i + 1)
            if end < 0:
                raise QualifyError("unterminated string", i)
            tokens.append(_Token("string", source[i : end + 1], i, source[i + 1 : end]))
            i = end + 1
            continue
        m = _NUMBER_RE.match(source, i)
        if m:
            text = m.group(0).rstrip(",_")
            digits = text.replace(",", "").replace("_", "")
            value: int | float = float(digits) if "." in digits else int(digits)
            tokens.append(_Token("number", text, i, value))
            i += len(text)
            continue
        m = _NAME_RE.match(source, i)
        if m:
            word = m.group(0)
            kind = "keyword" if word.lower() in KEYWORDS else "name"
            tokens.append(_Token(kind, word, i, word.lower() if kind == "keyword" else word))
            i = m.end()
            continue
        if source.startswith("&&", i) or source.startswith("||", i):
            raise QualifyError(f"use 'and'/'or' instead of {source[i : i + 2]!r}", i)
        raise QualifyError(f"unexpected character {ch!r}", i)
    tokens.append(_Token("end", "", len(source)))
    return tokens


# -- parser ----------------------------------------------------------------------------------------------
class _Parser:
    def __init__(self, source: str) -> None:
        self.tokens = _tokenize(source)
        self.i = 0

    @property
    def tok(self) -> _Token:
        return self.tokens[self.i]

    def _advance(self) -> _Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def _is_keyword(self, word: str) -> bool:
        return self.tok.kind == "keyword" and self.tok.value == word

    def parse(self) -> Expr:
        if self.tok.kind == "end":
            raise QualifyError("empty expression", 0)
        expr = self._or()
        if self.tok.kind != "end":
            raise QualifyError(f"unexpected {self.tok.text!r}", self.tok.position)
        return expr

    def _or(self) -> Expr:
        start = self.tok.position
        operands = [self._and()]
        while self._is_keyword("or"):
            self._advance()
            operands.append(self._and())
        return operands[0] if len(operands) == 1 else BoolOp("or", tuple(operands), start)

    def _and(self) -> Expr:
        start = self.tok.position
        operands = [self._not()]
        while self._is_keyword("and"):
            self._advance()
            operands.append(self._not())
        return operands[0] if len(operands) == 1 else BoolOp("and", tuple(operands), start)

    def _not(self) -> Expr:
        if self._is_keyword("not"):
            tok = self._advance()
            return Not(self._not(), tok.position)
        return self._comparison()

    def _comparison(self) -> Expr:
        left = self._operand()
        if self.tok.kind == "op":
            op = self._advance()
            right = self._operand()
            if self.tok.kind == "op":
                raise QualifyError("chained comparisons are not supported; join them with 'and'", self.tok.position)
            return Compare(op.text, left, right, op.position)
        return left

    def _operand(self) -> Expr:
        tok = self.tok
        match tok.kind:
            case "name":
                self._advance()
                return Name(tok.value, tok.position)
            case "number" | "string":
                self._advance()
                return Literal(tok.value, tok.position)
            case "keyword" if tok.value in ("true", "false"):
                self._advance()
                return Literal(tok.value == "true", tok.position)
            case "lparen":
                self._advance()
                inner = self._or()
                if self.tok.kind != "rparen":
                    raise QualifyError("expected ')'", self.tok.position)
                self._advance()
                return inner
            case "end":
                raise QualifyError("expression ends too early", tok.position)
        raise QualifyError(f"unexpected {tok.text!r}", tok.position)


def parse_expression(source: str, known_names: set[str] | None = None) -> Expr:
    """Parse ``source``; with ``known_names``, a name outside it is an error at that name's position."""
    expr = _Parser(source).parse()
    if known_names is not None:
        for name in names(expr):
            if name.name not in known_names:
                raise QualifyError(f"unknown slot {name.name!r}", name.position)
    return expr
