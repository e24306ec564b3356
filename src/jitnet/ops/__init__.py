"""Differentiable ops, grouped by family; each public function validates, then runs a Function."""
