"""Parameter trees: nested dicts of arrays, flattened in one fixed order (sorted keys at every level).

NetTrain's steps and optimizers work on flat lists of arrays ("leaves"); nets
carry nested dicts ``{layer: {parameter: array}}``. These three functions
convert between the two, always in the same order.
"""
from __future__ import annotations

__all__ = ["tree_items", "tree_leaves", "tree_rebuild"]


def tree_items(tree, path=()):
    """``[(path, leaf)]`` of a nested dict, keys sorted at every level; a path is a tuple of keys."""
    if isinstance(tree, dict):
        return [item for k in sorted(tree) for item in tree_items(tree[k], path + (k,))]
    return [(path, tree)]


def tree_leaves(tree):
    """The leaves of a nested dict in :func:`tree_items` order."""
    return [leaf for _, leaf in tree_items(tree)]


def tree_rebuild(template, leaves):
    """A nested dict shaped like ``template`` holding ``leaves`` (in :func:`tree_items` order)."""
    it = iter(leaves)

    def build(t):
        if isinstance(t, dict):
            return {k: build(t[k]) for k in sorted(t)}
        return next(it)

    return build(template)
