"""Counts of the demo region, derived from its data (survey_templates/demo), so tests never copy them from output."""

from __future__ import annotations

from storage.template_folder import load_catalogs, load_demo
from usecases.settings import BUNDLED_TEMPLATES

_DEMO = load_demo(BUNDLED_TEMPLATES, load_catalogs(BUNDLED_TEMPLATES))

INSTITUTIONS = sum(1 for i in _DEMO.institutions if i.active)   # each is invited once per round
ACTIVITIES = len(_DEMO.activities)                                # in the demo's published concept
