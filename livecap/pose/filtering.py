"""Temporal filtering, one user-facing "smoothing" strength from 0 (off) to 1 (heavy).

Two filters, as MediaPipe and most mocap tools do it: a One-Euro filter on the measurements before the fit (2D
landmarks in pixels, 3D landmarks in metres), which removes jitter at rest and follows fast motion with little
lag, and a constant-velocity Kalman filter (filterpy) on each person's root trajectory after the fit, whose depth
comes from the reprojection and is the noisiest quantity of all. Pure per-frame cores: arrays in, arrays out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from filterpy.common import Q_discrete_white_noise
from filterpy.kalman import KalmanFilter
from scipy.linalg import block_diag



@dataclass(frozen=True)
class OneEuroSettings:
    """`beta` is per body size per second: velocities are divided by the person's size before use, as MediaPipe
    does, so one setting suits pixels and metres, near and far people."""

    min_cutoff: float  # Hz: lower = steadier at rest, more lag
    beta: float  # raises the cutoff with speed: higher = less lag on fast motion
    d_cutoff: float = 1.0  # Hz, for the speed estimate


@dataclass(frozen=True)
class SmoothingSettings:
    strength: float
    landmarks: OneEuroSettings
    root_process_noise: float  # Kalman: m^2/s^3 of white acceleration noise; lower = smoother root
    # x/z and y/z (about 2 px at a 1000 px focal length), depth in metres
    root_measurement_noise: np.ndarray = field(default_factory=lambda: np.array([0.002, 0.002, 0.15]))

    @property
    def enabled(self) -> bool:
        return self.strength > 0

    @classmethod
    def from_strength(cls, strength: float) -> "SmoothingSettings":
        """0 = raw, 1 = heavy (checked where it entered: livecap.settings.check_smoothing). The default 0.5 was tuned with `livecap bench --fitting` on two_people_1080p and
        basketball_240p to cut jitter to a third with under a frame of lag on the limbs."""
        # log-linear: each 0.1 of strength divides the cutoff by ~1.8 and the root's process noise by ~2.5
        return cls(strength, OneEuroSettings(min_cutoff=10 ** (-2.6 * strength), beta=30.0 * (1.0 - strength)),
                   root_process_noise=400.0 * 10 ** (-4.0 * strength))


def _alpha(cutoff: np.ndarray | float, dt: float) -> np.ndarray | float:
    tau = 1.0 / (2.0 * math.pi * cutoff)
    return 1.0 / (1.0 + tau / dt)


class OneEuroFilter:
    """One-Euro filter over an array of values (every element filtered on its own, in one vectorised step)."""

    def __init__(self, settings: OneEuroSettings):
        self.settings = settings
        self.reset()

    def reset(self) -> None:
        self._time: float | None = None
        self._value: np.ndarray | None = None
        self._speed: np.ndarray | None = None

    def __call__(self, time: float, value: np.ndarray, scale: float = 1.0) -> np.ndarray:
        """`scale`: the size of the thing measured (a body's pixels or metres), so speeds are per body size."""
        value = np.asarray(value, np.float64)
        if self._time is None:
            self._time, self._value, self._speed = time, value.copy(), np.zeros_like(value)
            return value.copy()
        if time <= self._time:  # a repeated or backwards timestamp: no rate to filter at (MediaPipe passes it)
            return value.copy()
        s, dt = self.settings, time - self._time
        speed = (value - self._value) / dt / max(scale, 1e-9)
        self._speed += _alpha(s.d_cutoff, dt) * (speed - self._speed)
        cutoff = s.min_cutoff + s.beta * np.abs(self._speed)
        self._value += _alpha(cutoff, dt) * (value - self._value)
        self._time = time
        return self._value.copy()


class RootKalman:
    """Constant-velocity Kalman filter of a camera-space position, run along the camera ray: the direction
    (x/z, y/z) is measured to a pixel or two, the depth z only to several centimetres. Filtering x, y, z directly
    would smear the depth noise into sideways motion."""

    TYPICAL_DEPTH = 4.0  # metres: converts the process noise of the ray direction to that of a position

    def __init__(self, process_noise: float, measurement_noise: np.ndarray):
        self.process_noise = process_noise
        self.filter = KalmanFilter(dim_x=6, dim_z=3)
        self.filter.H = np.kron(np.eye(3), [[1.0, 0.0]])  # state [u u' v v' z z']: u, v, z are observed
        self.filter.R = np.diag(np.square(measurement_noise))
        # at the first measurement: position as measured, velocity unknown
        self._initial_p = np.diag(np.column_stack([np.square(measurement_noise), np.ones(3)]).ravel())
        self._axis_noise = np.array([1.0, 1.0, self.TYPICAL_DEPTH ** 2]) * process_noise / self.TYPICAL_DEPTH ** 2
        self._time: float | None = None
        self._dt = 0.0

    def __call__(self, time: float, position: np.ndarray) -> np.ndarray:
        x, y, z = np.asarray(position, np.float64)
        ray = np.array([x / z, y / z, z])
        kf = self.filter
        if self._time is None:
            kf.x = np.kron(ray, [1.0, 0.0]).reshape(6, 1)
            kf.P = self._initial_p.copy()
            self._time = time
            return np.array([x, y, z])
        dt = time - self._time
        if dt > 0:
            if abs(dt - self._dt) > 0.01 * dt:  # intervals repeat (to float rounding): rebuild when one changes
                kf.F = np.kron(np.eye(3), [[1.0, dt], [0.0, 1.0]])
                kf.Q = block_diag(*(Q_discrete_white_noise(dim=2, dt=dt, var=v) for v in self._axis_noise))
                self._dt = dt
            kf.predict()
            self._time = time
        kf.update(ray)
        u, v, depth = kf.x[::2, 0]
        return np.array([u * depth, v * depth, depth])


class PersonSmoother:
    """One tracked person's filters (it lives on the person's track): their 2D and 3D landmarks before the fit, their
    root after it. reset() when the person is found again after being lost: old motion must not pull the new."""

    def __init__(self, settings: SmoothingSettings):
        self.settings = settings
        self.reset()

    def reset(self) -> None:
        s = self.settings
        self.image, self.world = OneEuroFilter(s.landmarks), OneEuroFilter(s.landmarks)
        self.root_filter = RootKalman(s.root_process_noise, s.root_measurement_noise)
        self._offset = np.zeros(3)  # published root - filtered root
        self._held = np.zeros(3)  # published root - fitted root while a foot is planted
        self._planted = False

    def landmarks(self, time: float, image33: np.ndarray, world33: np.ndarray, body_pixels: float
                  ) -> tuple[np.ndarray, np.ndarray]:
        """Filtered (33 x 3 pixels + visibility, 33 x 3 metres); visibility passes through unfiltered."""
        image = image33.astype(np.float64)
        image[:, :2] = self.image(time, image33[:, :2], scale=body_pixels)
        world = self.world(time, world33, scale=1.0)  # hip-centred metres: a body is about 1 m across
        return image.astype(np.float32), world.astype(np.float32)

    def root(self, time: float, root: np.ndarray, planted: bool = False) -> np.ndarray:
        """The filtered root. While a foot is planted the fit already holds the body still, and the filter's
        correction changing would slide that foot: sideways and in depth the published root then moves exactly as
        the fitted one does, from where it was when the foot came down; once the feet are free it eases back
        onto the filtered path."""
        root = np.asarray(root, np.float64)
        filtered = self.root_filter(time, root)
        if planted:
            if not self._planted:
                self._held = filtered + self._offset - root
            published = filtered + self._offset * (0.0, 1.0 - self.RELEASE_EASE, 0.0)
            published[[0, 2]] = root[[0, 2]] + self._held[[0, 2]]
        else:
            published = filtered + self._offset * (1.0 - self.RELEASE_EASE)
        self._planted, self._offset = planted, published - filtered
        return published

    RELEASE_EASE = 0.3  # of the way back onto the filtered path per frame after a foot lifts
