"""stap's `(similar: ...)` suggestions: a weighted Levenshtein score (staputil.cxx).

Substitution costs 2 (1 when the letters differ only in case), insertion and
deletion 2.  Candidates are ranked by score, ties in sorted-name order (stap
walks a std::set into a multimap), and at most `limit` are shown.
"""
from __future__ import annotations


def levenshtein(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            if a[i - 1] == b[j - 1]:
                cur[j] = prev[j - 1]
            else:
                sub = 1 if a[i - 1].lower() == b[j - 1].lower() else 2
                cur[j] = min(prev[j - 1] + sub, prev[j] + 2, cur[j - 1] + 2)
        prev = cur
    return prev[len(b)]


def suggest(target: str, candidates, limit: int = 5) -> str:
    """Comma-separated best matches of `target` among `candidates` ('' if none)."""
    scored = []
    for name in sorted(set(candidates)):
        if not name:
            continue
        min_score = abs(len(target) - len(name))
        if len(scored) >= limit:
            maxth = sorted(s for s, _ in scored)[limit - 1]
            if min_score > maxth:
                continue
        else:
            maxth = None
        score = levenshtein(target, name)
        if maxth is not None and score > maxth:
            continue
        scored.append((score, name))
    # multimap: stable by insertion order within equal scores
    scored.sort(key=lambda sn: sn[0])
    return ", ".join(name for _, name in scored[:limit])


def similar(target: str, candidates, limit: int = 5) -> str:
    """` (similar: a, b)` or ''."""
    s = suggest(target, candidates, limit)
    return f" (similar: {s})" if s else ""
