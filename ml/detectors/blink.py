"""The eye check ("blink"): a subject's eye closed (or, at strict settings, partly closed).

A thin adapter: the face stage (ml.analyse: faces, landmarks, the eye CNN, openness) measures, and
ml.verdict holds every rule (subjects, states, the check band, confidence, the deciding face). Judging
here gives exactly what `ml.verdict.judgement` gives at `Thresholds.from_strictness(strictness)`; with a
context from the subject-eyes step (each face's subject and usual opening), an eye much less open than its
subject's usual (`ml.verdict.relative_eyes`) also flags, or sends to check, a photo the photo-alone rule kept.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Mapping

from ml.detectors.base import FaceFinding, Finding, Level, Subject, Words
from ml.types import SCHEMA_VERSION, EyeState, Thresholds, Verdict
from ml.verdict import RelativeEyes, closedness, judgement, relative_eyes


class BlinkDetector:
    key = "blink"
    title = "Closed eyes"
    level = Level.EYE
    rejects = True
    schema = SCHEMA_VERSION  # the stored analysis's own schema: the details are its faces
    words = Words(flagged="Blinking", clear="Eyes open", group="Blinks", flag="Blinking", not_flag="Not a blink",
                  key="b", clear_key="k", keyword="Eye Spy|blink", label="Red", folder="BLINKING")

    def analyse(self, subject: Subject) -> dict[str, Any]:
        faces = subject.analysis.to_dict()["faces"]  # asdict keeps tuples; stored JSON has lists
        return {"schema": self.schema, "faces": [dict(face, eyes=list(face["eyes"])) for face in faces]}

    def judge(self, details: Mapping[str, Any], strictness: float = 0.5,
              context: Mapping[str, Any] | None = None) -> Finding:
        faces = details.get("faces") or ()
        judged = judgement(faces, Thresholds.from_strictness(strictness))
        if judged.verdict is Verdict.NO_FACE:
            return Finding(key=self.key, applies=False, flagged=False, score=0.0, sentence=judged.reason)
        subject_eyes = [eye for face, fj in zip(faces, judged.faces) if fj.is_subject
                        for eye, state in zip(face.get("eyes") or (), fj.eye_states) if state is not EyeState.NOT_VISIBLE]
        finding = Finding(
            key=self.key, applies=True, flagged=judged.verdict is Verdict.BLINKING,
            score=round(max((closedness(e) for e in subject_eyes), default=0.0), 4),
            sentence=judged.reason, confidence=judged.confidence, check_reasons=judged.check_reasons,
            face_index=judged.face_index,
            faces=tuple(FaceFinding(index=i, is_subject=fj.is_subject, flagged=fj.verdict is Verdict.BLINKING)
                        for i, fj in enumerate(judged.faces)),
        )
        usual = (context or {}).get("faces")
        if finding.flagged or not usual:
            return finding
        return _relative(finding, relative_eyes(faces, usual, strictness))


def _relative(finding: Finding, rel: RelativeEyes | None) -> Finding:
    """The photo-alone finding, flagged or sent to check when an eye is much less open than its subject's usual."""
    if rel is None or not (rel.flagged or rel.near):
        return finding
    if not rel.flagged:
        return replace(finding, check_reasons=finding.check_reasons + (rel.sentence,))
    cut = rel.cut
    return replace(
        finding, flagged=True, score=round(max(finding.score, 1.0 - rel.share), 4), sentence=rel.sentence,
        confidence=round(0.5 + 0.5 * min(1.0, max(0.0, (cut - rel.share) / cut)), 3), face_index=rel.face_index,
        faces=tuple(replace(f, flagged=f.index == rel.face_index) for f in finding.faces))


BLINK = BlinkDetector()
