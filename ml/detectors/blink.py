"""The eye check ("blink"): a subject's eye closed (or, at strict settings, partly closed).

A thin adapter: the face stage (ml.analyse: faces, landmarks, the eye CNN, openness) measures, and
ml.verdict holds every rule (subjects, states, the check band, confidence, the deciding face). Judging
here gives exactly what `ml.verdict.judgement` gives at `Thresholds.from_strictness(strictness)`; with a
context from the subject-eyes step (each face's subject and usual opening), an eye much less open than its
subject's usual (`ml.verdict.relative_eyes`) also flags, or sends to check, a photo the photo-alone rule kept.
"""
from __future__ import annotations

from typing import Any, Mapping

from ml.detectors.base import FaceFinding, Finding, Level, Subject, Words
from ml.types import SCHEMA_VERSION, EyeState, Thresholds, Verdict
from ml.verdict import closedness, in_session, judgement


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
        thresholds = Thresholds.from_strictness(strictness)
        # The session's rule (each subject's usual eye opening) on top of the photo-alone one: ml.verdict's.
        judged = in_session(judgement(faces, thresholds), faces, (context or {}).get("faces"), strictness, thresholds)
        if judged.verdict is Verdict.NO_FACE:
            return Finding(key=self.key, applies=False, flagged=False, score=0.0, sentence=judged.reason)
        subject_eyes = [eye for face, fj in zip(faces, judged.faces) if fj.is_subject
                        for eye, state in zip(face.get("eyes") or (), fj.eye_states) if state is not EyeState.NOT_VISIBLE]
        return Finding(
            key=self.key, applies=True, flagged=judged.verdict is Verdict.BLINKING,
            score=round(max((closedness(e) for e in subject_eyes), default=0.0), 4),
            sentence=judged.reason, confidence=judged.confidence, check_reasons=judged.check_reasons,
            face_index=judged.face_index,
            faces=tuple(FaceFinding(index=i, is_subject=fj.is_subject, flagged=fj.verdict is Verdict.BLINKING)
                        for i, fj in enumerate(judged.faces)),
        )


BLINK = BlinkDetector()
