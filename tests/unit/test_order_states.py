import pytest

from perfectorder.domain.errors import InvalidTransition
from perfectorder.domain.orders import TRANSITIONS, Action, OrderStatus, next_status


@pytest.mark.parametrize("status", list(OrderStatus))
@pytest.mark.parametrize("action", list(Action))
def test_every_pair_outside_the_table_is_refused_naming_the_current_state(status, action):
    if (status, action) in TRANSITIONS:
        assert next_status(status, action) is TRANSITIONS[(status, action)]
        return
    with pytest.raises(InvalidTransition) as refused:
        next_status(status, action)
    assert refused.value.code == "invalid_transition"
    assert refused.value.details == {"status": status.value, "action": action.value}
    assert f"'{status.value}'" in refused.value.message


def test_terminal_states_lead_nowhere():
    assert not [key for key in TRANSITIONS if key[0] in (OrderStatus.DELIVERED, OrderStatus.CANCELLED)]


def test_every_state_is_reachable_and_every_open_state_can_finish():
    reachable, frontier = {OrderStatus.RECEIVED}, [OrderStatus.RECEIVED]
    while frontier:
        current = frontier.pop()
        for (source, _), target in TRANSITIONS.items():
            if source is current and target not in reachable:
                reachable.add(target)
                frontier.append(target)
    assert reachable == set(OrderStatus)
    for start in OrderStatus:
        seen, frontier = {start}, [start]
        while frontier:
            current = frontier.pop()
            for (source, _), target in TRANSITIONS.items():
                if source is current and target not in seen:
                    seen.add(target)
                    frontier.append(target)
        assert seen & {OrderStatus.DELIVERED, OrderStatus.CANCELLED}
