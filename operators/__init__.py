"""The TFDP operators and panel, thin wrappers over the ``tfdp`` package."""

from .panel import TFDPPanel
from .runs import DeleteRun, ExportKept, GetRunInfo, OpenPanel
from .scores import ComputeScores, Prune

OPERATORS = (
    ComputeScores,
    Prune,
    ExportKept,
    GetRunInfo,
    DeleteRun,
    OpenPanel,
    TFDPPanel,
)


def register(p):
    for operator in OPERATORS:
        p.register(operator)
