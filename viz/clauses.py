"""Quote the plan lines a lever or event cites, for the dashboard's tooltips.

A reference such as `capital_metro_area L173「40萬—50萬」` already carries a few words of the line,
so it reads correctly without the texts. When the plan texts are at hand — the folder named by
`regionsim --plans DIR` or `$REGIONSIM_PLANS_DIR`, by default `../shared/plans` from the repository
root (`regionsim.model.citations.plans_dir`) — the tooltip adds the first words of every cited line.
"""

from __future__ import annotations

from regionsim.model.citations import plans_dir, quote_lines, references

QUOTE_CHARS = 160


def quote(clause: str, limit: int = QUOTE_CHARS) -> str:
    """`clause` followed by the text of each line it cites (one line per reference, at most `limit`
    characters each). Estimates, unknown references and a missing plans folder give `clause` unchanged."""
    if not clause:
        return ""
    folder = plans_dir()
    if folder is None:
        return clause
    parts = []
    for ref in references(clause):
        try:
            text = quote_lines(ref, folder, limit)
        except OSError:
            continue
        if text:
            span = f"L{ref.first}" if ref.first == ref.last else f"L{ref.first}–{ref.last}"
            parts.append(f"{ref.plan} {span}: 「{text}」")
    return clause + ("\n" + "\n".join(parts) if parts else "")
