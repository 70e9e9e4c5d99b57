"""Reads for the learning loop: the dataset page, the model page, a session's model changes, the personal model.

Other apps import it as `from learning import selectors`. Nothing here loads a model: agreement and the
personal strictness are re-judged from stored per-eye P(closed) with `ml.verdict`, which is instant.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Count, Q
from django.db.models.functions import TruncDate

from classifier.models import Correction, ModelVersion, PersonalModel, Prediction, ReanalysisJob, TrainingExample, TrainingRun
from review.selectors import correction_stacks, in_force, predictions_by_photo, thresholds_for
from sessions_app.models import Photo, PhotoSession, User

from .check_fit import CheckSuggestion, check_suggestions  # each other check's personal strictness

# --- Dataset page -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DatasetStats:
    total: int
    dropped: int
    by_label_split: dict[str, dict[str, int]]  # label -> split -> n
    by_photographer: list[dict]
    by_tag: dict[str, int]
    by_rule: dict[str, int]
    growth: list[tuple[str, int]]  # (day, cumulative examples in force)
    recent: list[TrainingExample]
    corrections_in_force: int


def dataset_stats(*, recent: int = 48) -> DatasetStats:
    active = TrainingExample.objects.filter(dropped_at__isnull=True)
    by_label_split: dict[str, dict[str, int]] = defaultdict(dict)
    for row in active.values("label", "split").annotate(n=Count("id")):
        by_label_split[row["label"]][row["split"]] = row["n"]
    by_photographer = list(
        active.values("photographer__email").annotate(
            n=Count("id"), closed=Count("id", filter=Q(label="closed")), open=Count("id", filter=Q(label="open"))
        ).order_by("-n")
    )
    running = 0
    growth = []
    for row in active.annotate(day=TruncDate("created_at")).values("day").annotate(n=Count("id")).order_by("day"):
        running += row["n"]
        growth.append((str(row["day"]), running))
    corrections = Correction.objects.order_by("created_at", "id").only("id", "photo_id", "face_index", "undoes_id")
    return DatasetStats(
        total=active.count(),
        dropped=TrainingExample.objects.filter(dropped_at__isnull=False).count(),
        by_label_split={k: dict(v) for k, v in by_label_split.items()},
        by_photographer=by_photographer,
        by_tag=dict(Counter(active.values_list("tag", flat=True))),
        by_rule=dict(Counter(active.values_list("rule", flat=True))),
        growth=growth,
        recent=list(active.select_related("photo", "photographer").order_by("-created_at", "-id")[:recent]),
        corrections_in_force=sum(1 for s in correction_stacks(corrections).values() if s),
    )


# --- Model page ------------------------------------------------------------------------------------------------


def model_versions_overview() -> list[ModelVersion]:
    """Every version, oldest first, with its training run (who, how long) when it came from one."""
    return list(ModelVersion.objects.select_related("created_by", "parent", "training_run__requested_by")
                .annotate(n_predictions=Count("predictions")).order_by("created_at", "id"))


def training_runs_recent(limit: int = 20) -> list[TrainingRun]:
    return list(TrainingRun.objects.select_related("requested_by", "result", "base_version")[:limit])


def chart_points(versions: list[ModelVersion], *, width: int = 640, height: int = 200, pad: int = 30) -> dict:
    """SVG coordinates of base and corrections accuracy per version (x = order of creation)."""
    series: dict[str, list[tuple[float, float, str, float]]] = {"base": [], "corrections": []}
    values = []
    for v in versions:
        for key in series:
            acc = ((v.metrics or {}).get(key) or {}).get("accuracy")
            if isinstance(acc, (int, float)):
                values.append(float(acc))
    lo = min(values + [0.9]) - 0.01
    hi = 1.0
    n = max(1, len(versions) - 1)
    for i, v in enumerate(versions):
        x = pad + (width - 2 * pad) * (i / n if len(versions) > 1 else 0.5)
        for key in series:
            acc = ((v.metrics or {}).get(key) or {}).get("accuracy")
            if isinstance(acc, (int, float)):
                y = height - pad - (height - 2 * pad) * (float(acc) - lo) / (hi - lo)
                series[key].append((round(x, 1), round(y, 1), v.name, float(acc)))
    ticks = []
    for k in range(5):
        value = lo + (hi - lo) * k / 4
        ticks.append((round(height - pad - (height - 2 * pad) * k / 4, 1), f"{value:.3f}"))
    return {
        "width": width, "height": height, "pad": pad, "ticks": ticks,
        "base": series["base"], "corrections": series["corrections"],
        "base_path": " ".join(f"{x},{y}" for x, y, *_ in series["base"]),
        "corrections_path": " ".join(f"{x},{y}" for x, y, *_ in series["corrections"]),
        "labels": [(round(pad + (width - 2 * pad) * (i / n if len(versions) > 1 else 0.5), 1), v.name)
                   for i, v in enumerate(versions)],
    }


# --- A session after a model switch ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionModelChanges:
    live: ModelVersion | None
    by_model: list[tuple[str, int]]  # model name -> photos whose counting prediction it made
    changed: int  # photos whose live-model verdict differs from the previous model's verdict
    compared: int  # photos with both
    previous: str  # the model compared against
    job: ReanalysisJob | None
    job_done: int
    job_total: int

    @property
    def job_percent(self) -> int:
        return int(100 * self.job_done / self.job_total) if self.job_total else 100

    @property
    def job_running(self) -> bool:
        return self.job is not None and self.job_done < self.job_total


def session_model_changes(*, session: PhotoSession) -> SessionModelChanges:
    """Which models made this session's verdicts, and how many verdicts the live model changed."""
    live = ModelVersion.objects.filter(is_live=True).first()
    th = thresholds_for(session.strictness)
    from ml.verdict import verdict_of

    counted = predictions_by_photo(Q(photo__session=session))
    names = dict(ModelVersion.objects.filter(pk__in={p.model_version_id for p in counted.values()})
                 .values_list("pk", "name"))
    by_model = Counter(f"{names.get(p.model_version_id, '?')} (#{p.model_version_id})" for p in counted.values())
    changed = compared = 0
    previous = ""
    if live is not None:
        rows = defaultdict(dict)
        for p in Prediction.objects.filter(photo__session=session).only(
                "photo_id", "model_version_id", "details", "updated_at").order_by("updated_at"):
            rows[p.photo_id][p.model_version_id] = p
        prev_id = live.parent_id
        for per_photo in rows.values():
            now = per_photo.get(live.pk)
            others = [p for vid, p in per_photo.items() if vid != live.pk]
            if now is None or not others:
                continue
            before = per_photo.get(prev_id) or others[-1]
            previous = previous or names.get(before.model_version_id) or str(before.model_version_id)
            compared += 1
            faces_now = (now.details or {}).get("faces") or []
            faces_before = (before.details or {}).get("faces") or []
            changed += verdict_of(faces_now, th) != verdict_of(faces_before, th)
        if prev_id and not previous:
            previous = ModelVersion.objects.filter(pk=prev_id).values_list("name", flat=True).first() or ""
    job = ReanalysisJob.objects.filter(session=session).select_related("model_version").first()
    done = total = 0
    if job is not None:
        total = job.total
        done = Photo.objects.filter(session=session).filter(
            Q(predictions__model_version=job.model_version, status=Photo.Status.DONE) | Q(status=Photo.Status.FAILED)
        ).distinct().count()
    return SessionModelChanges(live=live, by_model=sorted(by_model.items()), changed=changed, compared=compared,
                               previous=previous, job=job, job_done=min(done, total), job_total=total)


# --- Personal model ----------------------------------------------------------------------------------------------

STRICTNESS_GRID = [round(i / 20, 2) for i in range(21)]


@dataclass(frozen=True)
class _Decision:
    session_id: int
    label: str
    faces: list[dict]
    face_index: int | None
    strictness: float


@dataclass(frozen=True)
class PersonalSummary:
    decisions: int
    minimum: int
    agreement: float | None  # the live model at each session's strictness vs the photographer, overall
    per_session: list[tuple[PhotoSession, int, float]]  # session, decisions, agreement
    suggestion: dict | None  # {"strictness", "closed", "partly", "partly_counts", "before", "after"}
    accepted: PersonalModel | None
    note: str = ""
    curve: list[tuple[float, float]] = field(default_factory=list)

    @property
    def enabled(self) -> bool:
        return self.decisions >= self.minimum


def _decisions(photographer: User) -> list[_Decision]:
    sessions = {s.id: s for s in PhotoSession.objects.filter(owner=photographer)}
    rows = (Correction.objects.filter(photo__session__owner=photographer, photo__status=Photo.Status.DONE)
            .order_by("created_at", "id"))
    stacks = correction_stacks(rows)
    active = [c for stack in stacks.values() for c in in_force(stack) if c.label in ("BLINKING", "NOT_BLINKING")]
    photo_sessions = dict(Photo.objects.filter(id__in={c.photo_id for c in active}).values_list("id", "session_id"))
    counted = predictions_by_photo(Q(photo_id__in=list(photo_sessions)))
    out = []
    for c in active:
        p = counted.get(c.photo_id)
        if p is None:
            continue
        faces = [f for f in (p.details or {}).get("faces") or [] if isinstance(f, dict)]
        if not faces or (c.face_index is not None and c.face_index >= len(faces)):
            continue
        sid = photo_sessions[c.photo_id]
        out.append(_Decision(sid, c.label, faces, c.face_index, sessions[sid].strictness))
    return out


def _agrees(d: _Decision, strictness: float) -> bool:
    from ml.verdict import judgement

    j = judgement(d.faces, thresholds_for(strictness))
    machine = j.verdict.value if d.face_index is None else j.faces[d.face_index].verdict.value
    return machine == d.label


def _rate(decisions: list[_Decision], strictness: float | None) -> float:
    if not decisions:
        return 0.0
    return sum(_agrees(d, d.strictness if strictness is None else strictness) for d in decisions) / len(decisions)


def personal_summary(*, photographer: User) -> PersonalSummary:
    """Decisions, agreement (overall and per session) and, past the minimum, a fitted personal strictness."""
    minimum = settings.EYESPY_PERSONAL_MIN_DECISIONS
    decisions = _decisions(photographer)
    accepted = PersonalModel.objects.filter(photographer=photographer).first()
    sessions = {s.id: s for s in PhotoSession.objects.filter(owner=photographer)}
    per_session = []
    by_session: dict[int, list[_Decision]] = defaultdict(list)
    for d in decisions:
        by_session[d.session_id].append(d)
    for sid, items in sorted(by_session.items(), key=lambda kv: -len(kv[1])):
        per_session.append((sessions[sid], len(items), _rate(items, None)))
    overall = _rate(decisions, None) if decisions else None
    if len(decisions) < minimum:
        return PersonalSummary(len(decisions), minimum, overall, per_session, None, accepted,
                               note=f"The personal strictness switches on after {minimum} decisions.")
    curve = [(s, _rate(decisions, s)) for s in STRICTNESS_GRID]
    current = sum(d.strictness for d in decisions) / len(decisions)
    best_s, best_rate = max(curve, key=lambda sr: (round(sr[1], 6), -abs(sr[0] - current)))
    th = thresholds_for(best_s)
    suggestion = {"strictness": best_s, "closed": th.closed, "partly": th.partly, "partly_counts": th.partly_counts,
                  "before": round(overall or 0.0, 4), "after": round(best_rate, 4)}
    return PersonalSummary(len(decisions), minimum, overall, per_session, suggestion, accepted, curve=curve)
