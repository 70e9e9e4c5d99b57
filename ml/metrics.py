"""Binary classification metrics with closed (BLINKING) as the positive class."""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class Metrics:
    n: int
    tp: int
    fp: int
    tn: int
    fn: int

    @property
    def accuracy(self) -> float:
        return (self.tp + self.tn) / self.n if self.n else 0.0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def to_dict(self) -> dict:
        data = asdict(self)
        data.update(
            accuracy=round(self.accuracy, 4),
            precision=round(self.precision, 4),
            recall=round(self.recall, 4),
            f1=round(self.f1, 4),
        )
        return data

    def summary(self) -> str:
        """Human-readable lines: the headline numbers and the confusion matrix."""
        return "\n".join(
            [
                f"n={self.n}  accuracy={self.accuracy:.4f}  precision={self.precision:.4f}  "
                f"recall={self.recall:.4f}  F1={self.f1:.4f}",
                "confusion (rows = truth, cols = predicted):",
                "               pred closed  pred open",
                f"  true closed  {self.tp:>11d}  {self.fn:>9d}",
                f"  true open    {self.fp:>11d}  {self.tn:>9d}",
            ]
        )


def binary_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> Metrics:
    """y_true / y_pred: 1 = closed, 0 = open."""
    t = np.asarray(y_true).astype(bool)
    p = np.asarray(y_pred).astype(bool)
    return Metrics(
        n=int(t.size),
        tp=int((t & p).sum()),
        fp=int((~t & p).sum()),
        tn=int((~t & ~p).sum()),
        fn=int((t & ~p).sum()),
    )
