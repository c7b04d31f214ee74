"""The TFDP operators and panel, thin wrappers over the ``tfdp`` package."""

from .datasets import LoadCocoDataset
from .panel import TFDPPanel
from .runs import DeleteRun, ExportKept, GetRunInfo, OpenPanel
from .scores import ComputeScores, Prune

# in workflow order, the destructive one last (the App lists operators by
# the first letter of their description, then in this order)
OPERATORS = (
    LoadCocoDataset,
    ComputeScores,
    Prune,
    OpenPanel,
    ExportKept,
    GetRunInfo,
    DeleteRun,
    TFDPPanel,
)


def register(p):
    for operator in OPERATORS:
        p.register(operator)
