"""The order-cycle diagram, written from the transition table so the picture cannot drift."""

from __future__ import annotations

from perfectorder.domain.orders import TRANSITIONS, Action, OrderStatus


def order_cycle_markdown() -> str:
    lines = [
        "# The order cycle",
        "",
        "Generated from `perfectorder.domain.orders.TRANSITIONS` by `perfectorder docs order-cycle`;",
        "a test fails when this file is stale. Any (status, action) pair not drawn here is refused",
        "with `409 invalid_transition`, naming the current status.",
        "",
        "```mermaid",
        "stateDiagram-v2",
        f"    [*] --> {OrderStatus.RECEIVED.value}",
    ]
    for (source, action), target in TRANSITIONS.items():
        lines.append(f"    {source.value} --> {target.value}: {action.value}")
    for final in (OrderStatus.DELIVERED, OrderStatus.CANCELLED):
        lines.append(f"    {final.value} --> [*]")
    lines += ["```", "", "| status | action | next status |", "|---|---|---|"]
    lines += [f"| {s.value} | {a.value} | {t.value} |" for (s, a), t in TRANSITIONS.items()]
    lines += ["", "Actions: " + ", ".join(f"`{a.value}`" for a in Action) + ".", ""]
    return "\n".join(lines)
