"""The TFDP operators, thin wrappers over the ``tfdp`` package."""

from .runs import DeleteRun, ExportKept, GetRunInfo
from .scores import ComputeScores, Prune

OPERATORS = (ComputeScores, Prune, ExportKept, GetRunInfo, DeleteRun)


def register(p):
    for operator in OPERATORS:
        p.register(operator)
