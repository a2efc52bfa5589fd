import pytest

from perfectorder.domain.errors import InvalidTransition
from perfectorder.domain.orders import ALLOWED_TRANSITIONS, OrderStatus, check_transition


def test_shipped_orders_cannot_be_cancelled():
    with pytest.raises(InvalidTransition) as refused:
        check_transition(OrderStatus.SHIPPED, OrderStatus.CANCELLED, "cancelled")
    assert refused.value.code == "invalid_transition"


def test_terminal_states_lead_nowhere():
    assert not ALLOWED_TRANSITIONS[OrderStatus.DELIVERED]
    assert not ALLOWED_TRANSITIONS[OrderStatus.CANCELLED]


def test_every_open_state_can_reach_delivered_or_cancelled():
    for start in OrderStatus:
        seen, frontier = {start}, [start]
        while frontier:
            for nxt in ALLOWED_TRANSITIONS[frontier.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    frontier.append(nxt)
        assert (
            OrderStatus.DELIVERED in seen or OrderStatus.CANCELLED in seen or start is OrderStatus.DELIVERED
        )
