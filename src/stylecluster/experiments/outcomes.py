"""How each experiment ran: whether the embed stage re-encoded anything, and why a run failed.

DVC's own log lines say whether a stage ran, was skipped or came from the run-cache; the embed
stage's run record (`records.EmbedRunRecord`) says what it encoded. Nothing here parses the
stages' own human-readable messages.
"""

from __future__ import annotations

from collections.abc import Mapping

from stylecluster.records import EmbedRunRecord


def embed_reuse(log_text: str | None, record: EmbedRunRecord | None = None) -> str:
    """How an experiment's run got its embeddings.

    Args:
        log_text: The experiment's DVC log (DVC's own lines say whether the stage ran).
        record: The embed stage's run record of that experiment, when the stage ran.

    Returns:
        "unchanged" (DVC skipped the stage), "run-cache" (restored by DVC), "ran (A cached,
        B encoded)" (from the stage's run record; A items came from the per-item cache), "ran"
        (no record) or "unknown".
    """
    if record is not None:
        return f"ran ({record.n_cached} cached, {record.n_encoded} encoded)"
    if not log_text:
        return "unknown"
    if "Stage 'embed' didn't change" in log_text:
        return "unchanged"
    if "Restored stage 'embed' from run-cache" in log_text:
        return "run-cache"
    if "Running stage 'embed'" in log_text:
        return "ran"
    return "unknown"


def embed_summary(reuse: Mapping[str, str]) -> tuple[str, list[str]]:
    """One line on how the experiments got their embeddings, and those that encoded anything.

    Args:
        reuse: Experiment name -> `embed_reuse` of its log.
    """
    counts: dict[str, int] = {}
    encoded = []
    for name, how in reuse.items():
        key = "ran" if how.startswith("ran") else how
        counts[key] = counts.get(key, 0) + 1
        if how.startswith("ran (") and not how.endswith(" 0 encoded)"):
            encoded.append(name)
    parts = ", ".join(f"{what} in {n}" for what, n in sorted(counts.items()))
    return (f"embed stage of {len(reuse)} experiment(s): {parts} (unchanged = skipped by DVC, "
            "run-cache = restored by DVC, ran = ran on the per-item cache)"), encoded


def failure_reason(log_text: str | None) -> str | None:
    """The first error a failed run logged: a stage's own message, else DVC's."""
    if not log_text:
        return None
    lines = [line.strip() for line in log_text.splitlines()]
    own = [line for line in lines if " ERROR stylecluster" in line]
    if own:
        return own[0].split(": ", 1)[-1]
    dvc = [line for line in lines if line.startswith("ERROR:")]
    return dvc[0][len("ERROR:"):].strip() if dvc else None
