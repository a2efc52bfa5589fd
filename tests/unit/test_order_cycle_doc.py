from pathlib import Path

from perfectorder.domain.order_cycle import order_cycle_markdown

DOC = Path(__file__).resolve().parents[2] / "docs" / "order-cycle.md"


def test_the_order_cycle_diagram_is_generated_from_the_current_table():
    assert DOC.read_text() == order_cycle_markdown(), "run `perfectorder docs order-cycle`"
