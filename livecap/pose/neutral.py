"""A person's neutral face as a function of their head's pose, learned from their own frames (pure numpy).

The measures (livecap.pose.expressions.MEASURES) are 3D geometry seen in the image: parts of the face lie before or
behind others (the brows before the lids, the mouth's corners behind its middle, the eye a recessed curve), so a
nod or a turn moves them against each other, and a face at rest reads differently turned than facing the camera
(on two_people a man at rest turned 50 degrees read browDown 0.75-0.88 and eyeWide 0.43-0.72 against his face
facing the camera; the dev faces' meshes nodded 20 degrees read browDown 0.88 or mouthFrown 1.0). How much depends
on the person's face (the mesh's depth is 0.75-1.05 of its width person to person, so a geometric correction over-
or under-corrects), hence learned per person: each measure's rest value is a + b . pose_terms(rotation), the terms
being how a point before or behind the eye corners' line moves in the image: with the nod's sine (heights), with one
minus the turn's cosine (both sides alike) and its sine (the near side against the far one). The slopes are a
robust (Huber) fit over the person's frames, which assumes that over a take their expressions do not follow their
head's pose (a person who frowns whenever they look down teaches it that looking down is their rest). The gaze is
not fitted: it is taken in the head's axes already, and people turn their eyes against their head to keep looking
at what they look at. Each slope's correction is scaled by its own signal-to-noise (the Wiener factor c^2 / (c^2 +
var c), c the correction at this frame's pose and var c its variance from the fit): with the pose seen over a
narrow range, the slope is not determined and the neutral is the constant one (the median of the first seconds, or
the whole take's fit). Beyond the poses seen the neutral is that of the nearest seen: two_people's second man, seen
turned 50-62 degrees one way for 2 s, then 20-28 the other, reads browDown up to 0.5-1.0 on those frames live
(refined learns them). Learned so, the first man turned 45-60 degrees reads browDown 0.02-0.05 live, 0.08-0.16
refined, eyeWide 0.06-0.17 (tools/eval_face_turn.py); the dev meshes turned 30 degrees or nodded 20 read no
expression over 0.30 (tools/eval_faces.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from livecap.pose.expressions import MEASURES, TYPICAL_NEUTRAL, expressions

# The measures with a pose dependence fitted (not the gaze: see above).
POSED = np.array([not name.startswith("gaze") for name in MEASURES])
POSE_TERMS = ("nod", "turn", "turn_side")  # sin(pitch), 1 - cos(yaw), sin(yaw)
HUBER_K = 1.345  # Huber's constant: 95 % of least squares' efficiency on normal residuals
IRLS_ROUNDS = 20
NEUTRAL_SECONDS = 2.0  # a person's neutral face: the median of their measures over their first seconds seen
# Until then it is the median of what has been seen of them with the typical face as one more sample
# (PRIOR_VOTES): half-way to their own face on their first frame, theirs from the second on where the two agree,
# and a blink or a word in either frame outvoted. People differ far more (brows 0.12-0.26 over the eye corners'
# distance) than one person's face at rest does frame to frame (0.003-0.01 on two_people), so a few frames of their
# own outweigh the typical face; weighed as several frames it held two_people's men against it for longer (3: brows
# raised 0.16-0.21 on average while facing the camera, against 0.06-0.11 with 1).
PRIOR_VOTES = 1
SEEN_SAMPLES = 600  # live keeps this many frames for the slopes (fitted in 4.5 ms), thinned by half when full


def pose_terms(rotation: np.ndarray) -> np.ndarray:
    """The head pose's terms (POSE_TERMS) from its rotation (FacePose.rotation, or n of them; the identity faces
    the camera):
    the nod's sine, one minus the turn's cosine and the turn's sine."""
    back = np.asarray(rotation, np.float64)[..., :, 2]
    across = np.maximum(np.hypot(back[..., 0], back[..., 2]), 1e-9)
    return np.stack([-back[..., 1], 1.0 - back[..., 2] / across, back[..., 0] / across], axis=-1)


@dataclass(frozen=True)
class PoseNeutral:
    """A neutral face that follows the head's pose: `level` taken at the pose terms `anchor`, each measure moving
    with the terms by its `slopes` (len(POSE_TERMS) x len(MEASURES)), whose covariances (len(MEASURES) x T x T)
    say how well the fit determined them, within the terms' range seen (`low`, `high`): beyond it the neutral is
    that at the nearest pose seen, not extrapolated (a slope learned on one side of the face says little of the
    other's)."""

    level: np.ndarray
    anchor: np.ndarray = field(default_factory=lambda: np.zeros(len(POSE_TERMS)))
    slopes: np.ndarray = field(default_factory=lambda: np.zeros((len(POSE_TERMS), len(MEASURES))))
    covariances: np.ndarray = field(default_factory=lambda: np.zeros((len(MEASURES), len(POSE_TERMS),
                                                                      len(POSE_TERMS))))
    low: np.ndarray = field(default_factory=lambda: np.zeros(len(POSE_TERMS)))
    high: np.ndarray = field(default_factory=lambda: np.zeros(len(POSE_TERMS)))

    def at(self, rotation: np.ndarray) -> np.ndarray:
        """The neutral measures for a head turned so (FacePose.rotation)."""
        offset = np.clip(pose_terms(rotation), self.low, self.high) - self.anchor
        correction = offset @ self.slopes
        variance = np.einsum("i,mij,j->m", offset, self.covariances, offset)
        signal = correction ** 2
        weight = np.divide(signal, signal + variance, out=np.zeros_like(signal), where=signal + variance > 0)
        return self.level + weight * correction


def fit_slopes(measures: np.ndarray, terms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each POSED measure's value at the terms' mean, its slopes over the pose terms and their covariances (a Huber
    fit, iteratively reweighted least squares); NaN values, zero slopes and covariances where they cannot be
    determined (no more frames than unknowns, a pose that never changed, a measure that never did)."""
    values = np.full(len(MEASURES), np.nan)
    slopes = np.zeros((len(POSE_TERMS), len(MEASURES)))
    covariances = np.zeros((len(MEASURES), len(POSE_TERMS), len(POSE_TERMS)))
    design = np.column_stack([np.ones(len(terms)), terms - terms.mean(axis=0)])
    if len(terms) <= design.shape[1] or np.linalg.matrix_rank(design) < design.shape[1]:
        return values, slopes, covariances
    chosen = np.flatnonzero(POSED & np.isfinite(measures).all(axis=0))
    coefficients, covariance, fitted = _huber(design, measures[:, chosen])
    chosen, coefficients, covariance = chosen[fitted], coefficients[fitted], covariance[fitted]
    values[chosen], slopes[:, chosen], covariances[chosen] = coefficients[:, 0], coefficients[:, 1:].T, \
        covariance[:, 1:, 1:]
    return values, slopes, covariances


def _huber(design: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Huber's M-estimates of each column of `values` (n x m) ~ `design` (n x p): coefficients (m x p), their
    covariances (m x p x p: Huber's asymptotic one), the scale the residuals' median absolute deviation, and which
    columns were fitted (not those that do not vary)."""
    n, p = design.shape
    weights = np.ones(values.shape)
    for _ in range(IRLS_ROUNDS):
        normal = np.einsum("ni,nm,nj->mij", design, weights, design)
        coefficients = np.linalg.solve(normal, np.einsum("ni,nm->mi", design, weights * values)[..., None])[..., 0]
        residuals = values - design @ coefficients.T
        scale = 1.4826 * np.median(np.abs(residuals - np.median(residuals, axis=0)), axis=0)
        u = residuals / np.maximum(scale, 1e-12)
        updated = np.minimum(1.0, HUBER_K / np.maximum(np.abs(u), 1e-12))
        if np.allclose(updated, weights, atol=1e-6):
            break
        weights = updated
    inside = (np.abs(u) < HUBER_K).sum(axis=0)
    psi2 = np.mean(np.clip(u, -HUBER_K, HUBER_K) ** 2, axis=0) * n / (n - p)
    spread = scale ** 2 * psi2 / np.maximum(inside / n, 1e-12) ** 2
    covariance = spread[:, None, None] * np.linalg.inv(design.T @ design)
    return coefficients, covariance, (scale > 0) & (inside > p)


def pose_neutral(measures: np.ndarray, rotations: np.ndarray, level_frames: int | None = None,
                 prior_votes: int = 0) -> PoseNeutral:
    """A person's neutral face from their frames' measures (n x len(MEASURES)) and head rotations (n x 3 x 3), the
    slopes fitted over every frame. Its level: with `level_frames` (live), the median of those first frames
    (estimate_neutral, the typical face `prior_votes` more) at their median pose; without, the fit's own value at
    the frames' mean pose (the median's where the fit found none), which the median of a take that turns one way
    for a while and back is not."""
    measures = np.reshape(measures, (-1, len(MEASURES)))
    terms = pose_terms(np.reshape(rotations, (-1, 3, 3)))
    if not len(terms):
        return PoseNeutral(estimate_neutral(measures, prior_votes))
    values, slopes, covariances = fit_slopes(measures, terms)
    first = slice(level_frames)
    level = estimate_neutral(measures[first], prior_votes)
    if level_frames is None:
        anchor = terms.mean(axis=0)
        level = np.where(np.isfinite(values), values, level)
    else:
        anchor = np.median(terms[first], axis=0)
    return PoseNeutral(level, anchor, slopes, covariances, terms.min(axis=0), terms.max(axis=0))


def estimate_neutral(samples: np.ndarray, prior_votes: int = PRIOR_VOTES) -> np.ndarray:
    """A neutral face from a person's measures (n x len(MEASURES), NaN where not taken): each measure's median with
    the typical face's counted `prior_votes` times among them; the typical face's for a measure never taken."""
    samples = np.reshape(samples, (-1, len(MEASURES)))
    votes = np.vstack([np.tile(TYPICAL_NEUTRAL, (prior_votes, 1)), samples])
    neutral = TYPICAL_NEUTRAL.copy()
    taken = np.isfinite(samples).any(axis=0)
    neutral[taken] = np.nanmedian(votes[:, taken], axis=0)
    return neutral


@dataclass
class ExpressionState:
    """One person's neutral face, live: its level learned from their first NEUTRAL_SECONDS seen (the median, so a
    blink or a word in that time does not count), learned again after `reset_neutral`; until then the median of
    what has been seen of them with the typical face as one more sample (`estimate_neutral`, PRIOR_VOTES), so a
    person seen briefly still reads against their own face. Its pose slopes are fitted over every frame seen so far
    (the last SEEN_SAMPLES, thinned), again each NEUTRAL_SECONDS once the level is learned."""

    neutral: PoseNeutral = field(default_factory=lambda: PoseNeutral(TYPICAL_NEUTRAL.copy()))
    learned: bool = False
    level_frames: int = 0  # how many of the first samples the level is the median of
    samples: list[np.ndarray] = field(default_factory=list)
    rotations: list[np.ndarray] = field(default_factory=list)
    started: float | None = None  # the time of the first sample
    fitted: float | None = None  # the time of the last fit

    def reset_neutral(self) -> None:
        self.neutral, self.learned, self.level_frames = PoseNeutral(TYPICAL_NEUTRAL.copy()), False, 0
        self.samples, self.rotations, self.started, self.fitted = [], [], None, None

    def update(self, measures: np.ndarray, rotation: np.ndarray, time_s: float) -> dict[str, float]:
        """This frame's expressions (the head turned so: FacePose.rotation); the measures also count towards the
        neutral face."""
        self.started = time_s if self.started is None else self.started
        self.samples.append(measures)
        self.rotations.append(np.asarray(rotation, np.float64))
        if not self.learned:
            self.learned = time_s - self.started >= NEUTRAL_SECONDS
            self.level_frames = len(self.samples)
        if not self.learned or self.fitted is None or time_s - self.fitted >= NEUTRAL_SECONDS:
            self.neutral = pose_neutral(np.array(self.samples), np.array(self.rotations), self.level_frames,
                                        0 if self.learned else PRIOR_VOTES)
            self.fitted = time_s
        if len(self.samples) >= max(SEEN_SAMPLES, 2 * self.level_frames):
            self._thin()
        return expressions(measures, self.neutral.at(rotation))

    def _thin(self) -> None:
        """Every other sample kept past the level's (which the level is already taken from)."""
        keep = self.level_frames
        self.samples = self.samples[:keep] + self.samples[keep::2]
        self.rotations = self.rotations[:keep] + self.rotations[keep::2]
