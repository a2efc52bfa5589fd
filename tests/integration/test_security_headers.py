"""Every answer says: no sniffing, no framing; pages carry a content security policy; personal
data is never kept by a cache."""

from __future__ import annotations

import re


def test_dashboard_pages_carry_a_content_security_policy_and_refuse_framing(anonymous):
    page = anonymous.get("/login")
    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    assert (
        "default-src 'self'" in policy
        and "frame-ancestors 'none'" in policy
        and "script-src 'self'" in policy
    )
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["cache-control"] == "no-store"


def test_api_answers_with_personal_data_are_not_cached_and_not_sniffed(client):
    answer = client.get("/api/v1/customers/1")
    assert answer.status_code == 200
    assert (
        answer.headers["cache-control"] == "no-store"
        and answer.headers["x-content-type-options"] == "nosniff"
    )
    assert "content-security-policy" not in answer.headers  # JSON, not a page


def test_our_static_assets_stay_cacheable(anonymous):
    script = anonymous.get("/static/app.js")
    assert script.status_code == 200 and script.headers.get("cache-control") != "no-store"


def test_the_api_docs_load_every_asset_from_us_under_a_policy_without_inline_script(anonymous):
    for page in ("/docs", "/redoc"):
        answer = anonymous.get(page)
        assert answer.status_code == 200
        policy = answer.headers["content-security-policy"]
        assert "script-src 'self';" in policy and "default-src 'self';" in policy, page
        sources = re.findall(r'(?:src|href)="([^"]*)"', answer.text)
        assert sources and all(s.startswith("/") for s in sources), (page, sources)
        for source in sources:
            asset = anonymous.get(source)
            assert asset.status_code == 200, source
            assert asset.headers.get("cache-control") != "no-store", source
    assert "unsafe-inline" not in anonymous.get("/docs").headers["content-security-policy"]
