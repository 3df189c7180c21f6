"""Experiment tooling: a grid of `dvc exp run`s and the comparison of their results."""
