"""Command bodies: `parcours personas discover`, `parcours model train activation` and
`parcours personas insight`. Each prints a report and returns the exit code (0 done, 1 the
data or content did not allow it, 2 bad arguments), so the CLI only parses options.
"""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import TextIO

from engine.catalog.catalog import load_catalog
from engine.catalog.fields import parse_duration
from engine.catalog.problems import relative_path
from engine.clock import Clock, SystemClock
from engine.experiments.analyze import CsvInputError, read_export
from engine.experiments.corrections import CORRECTIONS
from engine.ml.activation import TrainingError, TrainOptions
from engine.ml.features import SpecOptions
from engine.ml.insight import Insight, PersonaInsight, persona_insight
from engine.ml.personas import DiscoveryError, DiscoveryOptions
from engine.ml.segments_file import SegmentFileError
from engine.ml.service import (
    DiscoverRequest,
    DiscoverResult,
    TrainRequest,
    TrainResult,
    run_activation_training,
    run_discovery,
)
from engine.store.db import create_db_engine


class UsageError(ValueError):
    """A bad command-line value; exit code 2."""


def discover_command(
    content_dir: Path,
    database_url: str,
    k: str = "auto",
    *,
    name: str = "personas",
    window: str = "3d",
    max_k: int = 8,
    seed: int = 0,
    priority: int | None = None,
    target_stage: str = "activation",
    traits: str | None = None,
    exclude_traits: str | None = None,
    clock: Clock | None = None,
    out: TextIO | None = None,
) -> int:
    """Discover personas from the profiles in `database_url`; write model and segments."""
    out = out or sys.stdout
    try:
        request = DiscoverRequest(
            content_dir=content_dir,
            name=_name(name),
            window=_duration(window, "--window"),
            target_stage=target_stage,
            priority=priority,
            clustering=DiscoveryOptions(k=_k(k), k_range=(2, max_k), seed=seed),
            features=_spec_options(traits, exclude_traits),
        )
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    engine = create_db_engine(database_url)
    try:
        result = run_discovery(engine, request, (clock or SystemClock()).now())
    except (DiscoveryError, SegmentFileError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    _print_discovery(result, out)
    return _check_content(content_dir, out)


def train_activation_command(
    content_dir: Path,
    database_url: str,
    *,
    name: str = "activation",
    observe: str = "24h",
    within: str = "14d",
    stage: str = "activation",
    seed: int = 0,
    min_auc: float = 0.6,
    clock: Clock | None = None,
    out: TextIO | None = None,
) -> int:
    """Train the activation-risk model; save it only if its held-out AUC reaches `min_auc`."""
    out = out or sys.stdout
    try:
        request = TrainRequest(
            content_dir=content_dir,
            name=_name(name),
            observe=_duration(observe, "--observe"),
            within=_duration(within, "--within"),
            target_stage=stage,
            min_auc=min_auc,
            options=TrainOptions(seed=seed),
            features=SpecOptions(),
        )
        if request.observe >= request.within:
            raise UsageError("--observe must be shorter than --within")
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    engine = create_db_engine(database_url)
    try:
        result = run_activation_training(engine, request, (clock or SystemClock()).now())
    except TrainingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    _print_training(result, request, out)
    if result.model_dir is None:
        return 1
    return _check_content(content_dir, out)


def insight_command(
    csv: Path,
    control: str | None = None,
    *,
    output_format: str = "table",
    alpha: float = 0.05,
    correction: str = "holm",
    min_users: int = 100,
    out: TextIO | None = None,
) -> int:
    """Per-persona recommendation from an export with user_id, variant, converted, segment."""
    out = out or sys.stdout
    if output_format not in ("table", "json") or correction not in CORRECTIONS:
        print("error: --format is table or json; --correction none, holm or bh", file=sys.stderr)
        return 2
    try:
        data = read_export(csv)
        if "segment" not in data.columns:
            raise CsvInputError(csv, 1, "no segment column: it holds each user's persona")
        arms = {
            persona: {variant: sums.conversion_stats(False) for variant, sums in variants.items()}
            for persona, variants in sorted(data.segments.items())
        }
        chosen = control or ("control" if "control" in data.arms else next(iter(data.arms)))
        if chosen not in data.arms:
            raise CsvInputError(csv, None, f"control {chosen!r} is not a variant")
        method = next(c for c in CORRECTIONS if c == correction)
        insight = persona_insight(arms, chosen, alpha=alpha, correction=method, min_users=min_users)
    except (CsvInputError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if output_format == "json":
        out.write(json.dumps(insight.to_json(), indent=2, allow_nan=False) + "\n")
    else:
        out.write(render_insight(insight) + "\n")
    return 0


def render_insight(insight: Insight) -> str:
    """The recommendations, one block per persona, then the heterogeneity tests."""
    lines = [f"Control: {insight.control}   alpha: {insight.alpha:g}"]
    lines[0] += f"   comparisons: {insight.comparisons} ({insight.correction} adjustment)"
    for persona in insight.personas:
        lines += ["", *_persona_lines(insight.control, persona)]
    lines += ["", "Does the effect differ between personas? (Cochran's Q)"]
    for h in insight.heterogeneity:
        if h.q is None or h.p_value is None:
            lines.append(f"  {h.variant}: not computed ({h.reason})")
        else:
            lines.append(f"  {h.variant}: Q = {h.q:.2f} over {h.personas} personas")
            lines[-1] += f", p = {_p_value(h.p_value)}"
    return "\n".join(lines)


def _persona_lines(control: str, persona: PersonaInsight) -> list[str]:
    verdicts = {"ship": f"ship {persona.ship}", "keep_control": "keep control"}
    verdict = verdicts.get(persona.decision, "not enough data: keep control")
    lines = [f"{persona.persona}: {verdict}", f"  {persona.reason}"]
    lines.append(
        f"  {control:<16} {persona.control_users:>8,} users  {_rate(persona.control_rate)}"
    )
    for v in persona.variants:
        lift, ci, p_adj = (
            v.comparison.absolute_lift,
            v.comparison.ci_absolute,
            v.comparison.p_value_adjusted,
        )
        shown = f"{lift * 100:+.1f} pp" if lift is not None else "n/a"
        shown += f" [{ci[0] * 100:+.1f}, {ci[1] * 100:+.1f}]" if ci else ""
        shown += "  p adj " + ("n/a" if p_adj is None else _p_value(p_adj))
        lines.append(f"  {v.variant:<16} {v.users:>8,} users  {_rate(v.rate)}  {shown}")
    return lines


def _p_value(p: float) -> str:
    return "<0.0001" if p < 1e-4 else f"{p:.4f}"


def _rate(value: float | None) -> str:
    return f"{value:.1%}" if value is not None else "n/a"


def _print_discovery(result: DiscoverResult, out: TextIO) -> None:
    found = result.discovery
    how = "fixed" if len(found.candidates) == 1 else "chosen by silhouette"
    out.write(
        f"Discovered {found.k} personas among {result.population:,} profiles "
        f"(k {how}; silhouette {found.silhouette:.3f})\n"
    )
    if len(found.candidates) > 1:
        tried = ", ".join(f"k={c.k}: {c.silhouette:.3f}" for c in found.candidates)
        out.write(f"  silhouette by k: {tried}\n")
    for profile, name, priority in zip(
        result.profiles, result.names, result.priorities, strict=True
    ):
        out.write(f"\n{name}  (cluster {profile.cluster}, priority {priority})\n")
        out.write(f"  {profile.summary(result.overall_rate)}\n")
    written = f"{_shown(result.model_dir)} and {_shown(result.segment_file)}"
    out.write(f"\nWrote {written}\n")


def _print_training(result: TrainResult, request: TrainRequest, out: TextIO) -> None:
    q = result.training.quality
    out.write(
        f"Activation model on {result.population:,} profiles "
        f"({q.train_profiles:,} train, {q.test_profiles:,} held out); "
        f"activation rate {q.base_rate:.1%}\n"
        f"  ROC AUC {q.auc:.3f} (95% CI {q.auc_interval[0]:.3f} to {q.auc_interval[1]:.3f})\n"
        f"  Brier score {q.brier:.4f} (base rate alone: {q.brier_baseline:.4f}); "
        f"expected calibration error {q.calibration_error:.3f}\n"
        "  calibration (held out):  predicted -> observed\n"
    )
    for b in q.calibration:
        out.write(f"    {b.predicted:6.1%} -> {b.observed:6.1%}   ({b.profiles:,} profiles)\n")
    top = ", ".join(f"{c} {w:+.2f}" for c, w in result.training.coefficients[:5])
    out.write(f"  strongest features (standardised weights): {top}\n")
    if result.model_dir is None:
        out.write(f"Not saved: ROC AUC {q.auc:.3f} is below --min-auc {request.min_auc:g}\n")
    else:
        out.write(f"Wrote {_shown(result.model_dir)}\n")


def _shown(path: Path) -> Path:
    return relative_path(path, Path.cwd())


def _check_content(content_dir: Path, out: TextIO) -> int:
    catalog, problems = load_catalog(content_dir)
    for problem in problems:
        out.write(problem.format(Path.cwd()) + "\n")
    out.write("content is valid\n" if catalog is not None else f"{len(problems)} problems found\n")
    return 0 if catalog is not None else 1


def _duration(text: str, option: str) -> timedelta:
    try:
        value = parse_duration(text)
    except Exception:
        raise UsageError(f"{option} expects a duration such as 30m, 36h, 2d or 1w") from None
    assert isinstance(value, timedelta)
    return value


def _k(text: str) -> int | None:
    if text == "auto":
        return None
    if not text.isdigit() or int(text) < 2:
        raise UsageError(f"--k expects 'auto' or a whole number of at least 2, got {text!r}")
    return int(text)


def _name(text: str) -> str:
    import re

    if not re.fullmatch(r"[a-z][a-z0-9_]*", text) or len(text) > 40:
        raise UsageError(f"--name {text!r}: use lowercase letters, digits and '_' (40 at most)")
    return text


def _spec_options(traits: str | None, exclude: str | None) -> SpecOptions:
    def keys(text: str | None) -> frozenset[str]:
        return frozenset(k.strip() for k in (text or "").split(",") if k.strip())

    return SpecOptions(traits=keys(traits) if traits else None, exclude=keys(exclude))
