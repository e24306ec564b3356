"""Partial evaluation of a scalar formula and a kernel template: one op's kernel, compiled alone.

A family's formulas live in one function with an op-code switch
(``unary_fwd(op, x, p0, p1)`` in ``kernels/scalar/elementwise.py``): one
source for both devices.  Compiled as it stands, every CPU kernel that calls it
pays Numba's type inference for every branch — 35 unary ops made the unary
map the slowest kernel of a first run (6 s), though a LeNet runs only relu.
Numba prunes a dead branch only when the condition tests a literal *argument*
of the function being compiled, not a constant that reaches an inlined
callee, so passing a constant op code does not help.

``fix_args(fn, op=RELU)`` therefore rewrites the formula's source instead: the
arguments named become constants, every ``if`` whose test those constants
decide is replaced by the branch taken, and what is left is compiled as a new
function with the original file and line numbers (tracebacks and ``inspect``
still point at the formula).  ``unary_fwd`` fixed at RELU is two lines.

``instantiate(template, name, **names)`` makes a cached CPU kernel from a plain
loop function whose free names (the formula it calls, the optimizer's loop and
record) are given per instance.  Numba keys its disk cache on the
function's bytecode, qualified name and closure; an instance is a new function
object over the template's code with its own globals and ``__qualname__``, so
each instance has its own cache files and reloads from them in the next
process (a closure would not: Numba hashes closure cells, and a dispatcher
pickles differently in every process).  The instances' source stamp covers
``kernels/scalar`` (see ``_jit``), so editing a formula recompiles them.
"""
from __future__ import annotations

import ast
import functools
import inspect
import textwrap

from ._jit import kernel, scalar, with_globals


class _Fold(ast.NodeTransformer):
    """Replace the fixed names by constants and fold the tests they decide."""

    def __init__(self, consts: dict, env: dict):
        self.consts, self.env = consts, env

    def visit_Name(self, node):
        if isinstance(node.ctx, ast.Load) and node.id in self.consts:
            return ast.copy_location(ast.Constant(self.consts[node.id]), node)
        return node

    def _value(self, node):
        """The test's value if the constants decide it, else None."""
        if isinstance(node, ast.Constant):
            return bool(node.value)
        if isinstance(node, ast.Compare) and len(node.ops) == 1:
            sides = [node.left, node.comparators[0]]
            vals = []
            for s in sides:
                if isinstance(s, ast.Constant):
                    vals.append(s.value)
                elif isinstance(s, ast.Name) and s.id in self.env and \
                        isinstance(self.env[s.id], (int, float, bool)):
                    vals.append(self.env[s.id])
                else:
                    return None
            op = node.ops[0]
            if isinstance(op, ast.Eq):
                return vals[0] == vals[1]
            if isinstance(op, ast.NotEq):
                return vals[0] != vals[1]
            return None
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            v = self._value(node.operand)
            return None if v is None else not v
        return None

    def _fold_test(self, node):
        """(folded test, its static value or None)."""
        node = self.visit(node)
        return self._fold_visited(node)

    def _fold_visited(self, node):
        if isinstance(node, ast.BoolOp):
            is_and = isinstance(node.op, ast.And)
            kept = []
            for part in node.values:
                v, static = self._fold_visited(part)
                if static is None:
                    kept.append(v)
                elif static != is_and:  # False in an `and`, True in an `or`: decided
                    return ast.Constant(static), static
            if not kept:
                return ast.Constant(is_and), is_and
            if len(kept) == 1:
                return kept[0], None
            return ast.BoolOp(op=node.op, values=kept), None
        return node, self._value(node)

    def _block(self, stmts):
        out = []
        for s in stmts:
            if isinstance(s, ast.If):
                test, static = self._fold_test(s.test)
                if static is True:
                    out.extend(self._block(s.body))
                elif static is False:
                    out.extend(self._block(s.orelse))
                else:
                    s.test = test
                    s.body = self._block(s.body) or [ast.Pass()]
                    s.orelse = self._block(s.orelse)
                    out.append(s)
            else:
                out.append(self.visit(s))
            if out and isinstance(out[-1], (ast.Return, ast.Raise)):
                break  # the rest of the block is unreachable
        return out

    def visit_IfExp(self, node):
        test, static = self._fold_test(node.test)
        if static is True:
            return self.visit(node.body)
        if static is False:
            return self.visit(node.orelse)
        node.test, node.body, node.orelse = test, self.visit(node.body), self.visit(node.orelse)
        return node

    def visit_If(self, node):  # nested blocks (loops, else-branches) go through _block
        block = self._block([node])
        return block if block else ast.Pass()

    def visit_For(self, node):
        node.iter = self.visit(node.iter)
        node.body = self._block(node.body) or [ast.Pass()]
        node.orelse = self._block(node.orelse)
        return node

    visit_While = visit_For


@functools.cache
def _fixed(fn, items: tuple):
    consts = dict(items)
    src = textwrap.dedent(inspect.getsource(fn))
    tree = ast.parse(src)
    fdef = tree.body[0]
    fdef.decorator_list = []
    fdef.args.args = [a for a in fdef.args.args if a.arg not in consts]
    fdef.body = _Fold(consts, fn.__globals__)._block(fdef.body) or [ast.Pass()]
    ast.fix_missing_locations(tree)
    ast.increment_lineno(tree, fn.__code__.co_firstlineno - 1)
    namespace: dict = {}
    exec(compile(tree, inspect.getsourcefile(fn), "exec"), fn.__globals__, namespace)
    out = namespace[fdef.name]
    out.__qualname__ = f"{fn.__qualname__}[{', '.join(f'{k}={v}' for k, v in items)}]"
    out.folded_source = ast.unparse(fdef)  # what is compiled, for notebooks and tests
    return out


def fix_args(fn, **consts):
    """``fn`` (a plain formula function) with the arguments ``consts`` fixed: the returned
    function takes the remaining arguments, and the branches the constants decide are gone."""
    return _fixed(fn, tuple(sorted(consts.items())))


def fixed_scalar(fn, **consts):
    """``fix_args(fn, **consts)`` compiled as an inlined CPU leaf (``_jit.scalar``)."""
    return scalar(fix_args(fn, **consts))


def instantiate(template, name: str, *, recipe: tuple | None = None, **names):
    """A cached CPU kernel named ``name``: ``template``'s code with its free ``names`` bound.

    ``template`` is a plain function in a kernel module; the values in ``names`` replace
    its module globals of those names (a jitted formula, another kernel, a constant).
    ``recipe`` (``("module:factory", *args)``) says how another process makes the same
    kernel (``jitnet.warmup`` compiles recorded kernels in worker processes).
    """
    f = with_globals(template, names, qualname=name)
    return kernel(f, recipe=recipe)
