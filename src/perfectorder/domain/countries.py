"""Country codes: ISO 3166-1 alpha-2, from the pycountry package's copy of the standard.

pycountry ships the ISO list as data files and reads them without any I/O beyond its own package,
so the domain may build the set once at import time and stay free of the outside world.
"""

from __future__ import annotations

import pycountry

ISO_COUNTRIES: frozenset[str] = frozenset(c.alpha_2 for c in pycountry.countries)
# "UK" is exceptionally reserved in ISO 3166-1 at the United Kingdom's own request and is what
# people write; it can only mean GB, so it is read as GB rather than refused. Other reserved codes
# (EU, UN, EZ ...) name no country a parcel can go to and stay refused.
ALIASES: dict[str, str] = {"UK": "GB"}


def country_code(raw: str | None) -> str | None:
    """The ISO code for what was written ("de" and " DE " are DE, "UK" is GB), or None if it is none."""
    if raw is None:
        return None
    code = raw.strip().upper()
    code = ALIASES.get(code, code)
    return code if code in ISO_COUNTRIES else None
