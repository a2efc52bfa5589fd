"""`perfectorder risk ...`: the model that predicts which open orders will miss their promise."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.table import Table

from perfectorder.bootstrap import Application
from perfectorder.cli.common import console, run
from perfectorder.domain.promise_risk import FEATURES, RiskModel
from perfectorder.services import promise_risk
from perfectorder.services.promise_risk import Training

risk_app = typer.Typer(
    help="The chance each open order misses its promise, learned from the store's history.",
    no_args_is_help=True,
)


def _describe(model: RiskModel) -> None:
    q = model.quality
    console.print(
        f"trained {model.trained_at:%Y-%m-%d %H:%M} UTC on {model.orders:,} settled orders "
        f"({model.base_rate:.1%} missed their promise)"
    )
    if q:
        console.print(
            f"on those orders: Brier {q['brier_model']:.4f} (rules {q['brier_rules']:.4f}); "
            f"rules flag with precision {q['rules_precision']:.1%} and recall {q['rules_recall']:.1%}; "
            f"the model finds {q['model_recall_at_rules_precision']:.1%} at that precision"
        )
    table = Table("feature", "weight (per standard deviation)", "mean")
    for name, weight, mean in zip(FEATURES, model.weights, model.means, strict=True):
        table.add_row(name, f"{weight:+.3f}", f"{mean:.3f}")
    console.print(table)


@risk_app.command("train")
def train(
    window_days: Annotated[
        int | None,
        typer.Option(min=7, max=3650, help="Train on orders placed this many days back (default: setting)"),
    ] = None,
) -> None:
    """Train the model now on the settled orders (the worker does this once a day), then score
    every open order with it."""

    def action(application: Application) -> tuple[Training, int, float]:
        started = time.perf_counter()
        training = promise_risk.train(application.services, window_days=window_days)
        took = time.perf_counter() - started
        return training, promise_risk.score_open(application.services), took

    training, scored, took = run(action)
    _describe(training.model)
    console.print(f"trained in {took:.1f} s; scored {scored:,} open order(s)")


@risk_app.command("score")
def score() -> None:
    """Score every open order with the latest model (the worker does this every few minutes)."""
    scored = run(lambda application: promise_risk.score_open(application.services))
    if not scored and run(lambda application: promise_risk.latest_model(application.services)) is None:
        console.print("no model yet: run `perfectorder risk train` once orders have been delivered")
        return
    console.print(f"scored {scored:,} open order(s)")


@risk_app.command("show")
def show(limit: Annotated[int, typer.Option(min=1, max=500)] = 20) -> None:
    """The model and the open orders most likely to miss their promise, with why and what to do."""
    model = run(lambda application: promise_risk.latest_model(application.services))
    if model is None:
        console.print("no model yet: run `perfectorder risk train` once orders have been delivered")
        return
    _describe(model)
    table = Table("order", "chance", "stage", "action", "why", "rules")
    for s in run(lambda application: promise_risk.riskiest(application.services, limit=limit)):
        why = "; ".join(words for _, _, words in s.reasons)
        flag = "flag" if s.rule_flag else ""
        table.add_row(str(s.order_id), f"{s.probability:.0%}", s.stage, s.action, why, flag)
    console.print(table)
