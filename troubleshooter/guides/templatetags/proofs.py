"""{% proofs_for cause.id as proofs %}: the sample proofs of one cause, for _proof.html."""

from __future__ import annotations

from django import template

from troubleshooter.guides.proofs import Proofs, load_proofs

register = template.Library()


@register.simple_tag
def proofs_for(cause_id: str) -> dict[str, object]:
    proofs: Proofs = load_proofs()
    return {"pairs": proofs.for_cause(cause_id), "versions": proofs.versions}
