"""The promise-risk model over HTTP: the open orders most likely to miss their promise, and the
model they were scored with."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from perfectorder.api.deps import OrdersReader, ReportsReader, Services
from perfectorder.api.errors import error_responses
from perfectorder.api.routes.orders import OrderRiskPublic, risk_public
from perfectorder.domain.errors import NotFound
from perfectorder.domain.promise_risk import FEATURES
from perfectorder.services import promise_risk

router = APIRouter(prefix="/api/v1/risk", tags=["orders"])


@router.get(
    "/orders",
    response_model=list[OrderRiskPublic],
    operation_id="riskiest_orders",
    responses=error_responses(403, 422),
)
def riskiest_orders(
    services: Services,
    caller: OrdersReader,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[OrderRiskPublic]:
    """Open orders by their chance of missing the promise, highest first, with reasons and a
    suggested action. Staff only: a tenant's key (channel, customer) is refused."""
    return [risk_public(s) for s in promise_risk.riskiest(services, limit=limit, caller=caller)]


class FeatureWeightPublic(BaseModel):
    feature: str
    weight: float = Field(description="Log-odds per standard deviation of the feature")
    mean: float


class RiskModelPublic(BaseModel):
    trained_at: datetime
    orders: int = Field(description="Settled orders it was trained on, each seen once while open")
    base_rate: float = Field(description="Their share that missed the promise")
    rules_rates: list[float] = Field(description="How often the rules' flagged and unflagged orders missed")
    quality: dict[str, float] = Field(
        description="On its training orders: Brier scores of the model and of the rules, the rules' "
        "precision and recall, the model's recall at the rules' precision"
    )
    features: list[FeatureWeightPublic]


@router.get(
    "/model",
    response_model=RiskModelPublic,
    operation_id="risk_model",
    responses=error_responses(404),
)
def risk_model(services: Services, _caller: ReportsReader) -> RiskModelPublic:
    """The latest trained model: what it was trained on, how it did, and each feature's weight.
    404 risk_model_missing before the first training."""
    model = promise_risk.latest_model(services)
    if model is None:
        raise NotFound(
            "risk_model_missing",
            "no risk model yet: the worker trains one daily once orders have been delivered, or run "
            "`perfectorder risk train`",
        )
    return RiskModelPublic(
        trained_at=model.trained_at,
        orders=model.orders,
        base_rate=model.base_rate,
        rules_rates=list(model.rule_rates),
        quality=dict(model.quality),
        features=[
            FeatureWeightPublic(feature=f, weight=w, mean=m)
            for f, w, m in zip(FEATURES, model.weights, model.means, strict=True)
        ],
    )
