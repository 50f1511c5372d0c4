"""What the local twin reads besides code, shipped inside the package so that a wheel install runs too:
``template.yaml`` (the resources it creates) and ``knowledge/`` (the sample event's documents).

In a checkout both are symbolic links to the project's own files (one copy of each); building a wheel copies
what they point at.
"""

from __future__ import annotations

from pathlib import Path

BUNDLED = Path(__file__).parent
"""The directory: ``BUNDLED / "template.yaml"`` is the link in a checkout, the copy in a wheel."""
TEMPLATE = BUNDLED / "template.yaml"
KNOWLEDGE = BUNDLED / "knowledge"
