"""The subjects step: faces across a session clustered into the people in it ("Subject 1" ...).

Faces are compared by their aligned grey crops (ml.detectors.likeness.identity: shading taken out, either way
round; stored by the burst check). Photos are
taken in upload order (photo id) and each face joins the subject whose mean crop it is most like, if it is
like enough, else starts a new subject; two faces of one photo never join the same subject. The same details
give the same subjects, and photos that arrive later never move an earlier face (they are appended to the
order). Numbering: Subject 1 has the most photos (ties: who appeared first), so labels follow the counts.

Context, per photo: "burst": {"subjects": [subject number or None per stored face], "subject_photos": [that
subject's photo count or None per face]}, and "focus": {"subject": the main face's number}, which the focus reference step groups by.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from ml.detectors.likeness import identity
from ml.detectors.session import Contexts, PhotoDetails

SAME_PERSON = 0.45  # identity correlation with a subject's mean at least this: the same person (bench/bursts_bench.py)


def photo_order(photo_ids: Any) -> list[Any]:
    """Photo ids in upload order: numbers by value, anything else by its text after them."""
    return sorted(photo_ids, key=lambda p: (0, p, "") if isinstance(p, (int, float)) else (1, 0, str(p)))


def main_face(faces: list[Mapping[str, Any]]) -> int | None:
    """The largest subject face's index (the burst and focus steps' "main face"), or None."""
    pool = [i for i, f in enumerate(faces) if f.get("is_subject", True)]
    return max(pool, key=lambda i: (faces[i].get("size_px", 0), -i)) if pool else None


def cluster_faces(photos: Mapping[Any, PhotoDetails], same_person: float = SAME_PERSON) -> dict[Any, list[int | None]]:
    """photo id -> subject number per stored face (None: no crop to tell who it is)."""
    sums: list[np.ndarray] = []
    first_seen: list[int] = []
    raw: dict[Any, list[int | None]] = {}
    for order, photo_id in enumerate(photo_order(photos)):
        faces = (photos[photo_id].get("burst") or {}).get("faces") or []
        labels: list[int | None] = [None] * len(faces)
        crops = {i: identity(f["crop"]) for i, f in enumerate(faces) if f.get("crop")}
        if crops:
            means = np.stack([s / max(float(np.linalg.norm(s)), 1e-9) for s in sums]) if sums else None
            pairs, turned = [], {}
            for i, (crop, mirror) in crops.items():
                if means is None:
                    continue
                direct, flipped = means @ crop, means @ mirror
                for k in range(len(sums)):
                    sim = max(direct[k], flipped[k])
                    turned[i, k] = flipped[k] > direct[k]
                    if sim >= same_person:
                        pairs.append((-float(sim), i, k))
            taken_faces, taken_subjects = set(), set()
            for _, i, k in sorted(pairs):  # most alike first; one face per subject per photo
                if i not in taken_faces and k not in taken_subjects:
                    labels[i] = k
                    taken_faces.add(i)
                    taken_subjects.add(k)
            for i, (crop, mirror) in crops.items():
                if labels[i] is None:
                    sums.append(np.zeros_like(crop))
                    first_seen.append(order)
                    labels[i] = len(sums) - 1
                # The subject's mean crop keeps one orientation: a face matched mirrored adds its mirror image.
                sums[labels[i]] = sums[labels[i]] + (mirror if turned.get((i, labels[i])) else crop)
        raw[photo_id] = labels
    counts = [sum(1 for labels in raw.values() if k in labels) for k in range(len(sums))]
    ranking = sorted(range(len(sums)), key=lambda k: (-counts[k], first_seen[k]))
    number = {k: n + 1 for n, k in enumerate(ranking)}
    return {pid: [number[k] if k is not None else None for k in labels] for pid, labels in raw.items()}


class SubjectsStep:
    key = "subjects"

    def __init__(self, same_person: float = SAME_PERSON):
        self.same_person = same_person

    def run(self, photos: Mapping[Any, PhotoDetails], contexts: Contexts) -> Contexts:
        labels = cluster_faces(photos, self.same_person)
        counts: dict[int, int] = {}
        for faces in labels.values():
            for n in set(f for f in faces if f is not None):
                counts[n] = counts.get(n, 0) + 1
        out: Contexts = {}
        for photo_id, faces in labels.items():
            if not any(f is not None for f in faces):
                continue
            stored = photos[photo_id]["burst"]["faces"]
            main = main_face(stored)
            out[photo_id] = {"burst": {"subjects": faces,
                                       "subject_photos": [counts.get(f) if f is not None else None for f in faces]}}
            if main is not None and faces[main] is not None:
                out[photo_id]["focus"] = {"subject": faces[main]}
        return out


SUBJECTS = SubjectsStep()
