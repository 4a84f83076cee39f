"""The logical flow language: lexer, match expressions, symbol table, actions, and their
compilation to a neutral OpenFlow representation (see ofrep)."""

from pyovn.logical.actions import ParsedActions, parse_actions
from pyovn.logical.compile import CompileContext, Compiler, compile_lflow
from pyovn.logical.expr import ExprError, parse
from pyovn.logical.lexer import LexError, tokenize
from pyovn.logical.ofrep import Flow, Match

__all__ = [
    "CompileContext",
    "Compiler",
    "ExprError",
    "Flow",
    "LexError",
    "Match",
    "ParsedActions",
    "compile_lflow",
    "parse",
    "parse_actions",
    "tokenize",
]
