"""Fits the promise-risk model with scikit-learn's logistic regression.

Logistic regression because its log-odds split into one term per feature (the reasons an order is
at risk) and because fitting by log-loss gives probabilities that match observed frequencies on
the data it was fitted on, which the bench script checks on stores it has not seen.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from perfectorder.services.promise_risk_ports import Fit


class LogisticLearner:
    def __init__(self, *, regularisation: float = 1.0) -> None:
        self._c = regularisation

    def fit(self, rows: Sequence[Sequence[float]], outcomes: Sequence[bool]) -> Fit:
        # Imported here: scikit-learn takes a second to import, and only training needs it.
        from sklearn.linear_model import LogisticRegression

        x = np.asarray(rows, dtype=np.float64)
        y = np.asarray(outcomes, dtype=np.int8)
        means = x.mean(axis=0)
        scales = x.std(axis=0)
        scales[scales == 0] = 1.0  # a feature that never varies weighs nothing
        model = LogisticRegression(C=self._c, max_iter=1000)
        model.fit((x - means) / scales, y)
        return Fit(
            float(model.intercept_[0]),
            tuple(float(w) for w in model.coef_[0]),
            tuple(float(m) for m in means),
            tuple(float(s) for s in scales),
        )
