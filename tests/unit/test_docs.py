"""Every error code the code can raise is documented for API users."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RAISED = re.compile(
    r'(?:InvalidInput|Conflict|NotFound|DomainError|problems\.add)\(\s*"([a-z_]+)"|super\(\).__init__\(\s*"([a-z_]+)"'
)


def test_every_raised_error_code_is_in_the_api_docs():
    documented = set(re.findall(r"`([a-z_]+)`", (ROOT / "docs" / "api.md").read_text()))
    raised = set()
    for path in (ROOT / "src" / "perfectorder").rglob("*.py"):
        for match in RAISED.finditer(path.read_text()):
            raised.add(match.group(1) or match.group(2))
    assert raised, "the pattern found no error codes at all"
    assert sorted(raised - documented) == []
