"""Pinhole camera intrinsics: from a field of view, or from an OpenCV calibration file."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from livecap.errors import LivecapError

DEFAULT_HORIZONTAL_FOV_DEG = 60.0  # typical of laptop and USB webcams
_MATRIX_KEYS = ("camera_matrix", "cameraMatrix", "K", "intrinsics")
_DISTORTION_KEYS = ("distortion_coefficients", "dist_coeffs", "distCoeffs", "D", "distortion")


@dataclass(frozen=True)
class CameraIntrinsics:
    fx: float
    fy: float
    cx: float
    cy: float
    distortion: tuple[float, ...] = ()  # OpenCV order k1, k2, p1, p2[, k3...]; empty = none
    origin: str = "fov"  # "fov" or the calibration file it came from

    @classmethod
    def from_fov(cls, width: int, height: int, horizontal_fov_deg: float = DEFAULT_HORIZONTAL_FOV_DEG):
        """The field of view was checked where it was given (livecap.settings.check_fov_degrees)."""
        f = (width / 2.0) / math.tan(math.radians(horizontal_fov_deg) / 2.0)
        return cls(fx=f, fy=f, cx=width / 2.0, cy=height / 2.0, origin=f"fov {horizontal_fov_deg:g}")

    @property
    def matrix(self) -> np.ndarray:
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])

    def undistort(self, points: np.ndarray) -> np.ndarray:
        """Pixel points (N x 2) as an ideal pinhole camera would have seen them."""
        if not any(self.distortion):
            return points
        matrix = self.matrix
        ideal = cv2.undistortPoints(np.ascontiguousarray(points, np.float64).reshape(-1, 1, 2), matrix,
                                    np.array(self.distortion), P=matrix)
        return ideal.reshape(-1, 2)

    def scaled_to(self, width: int, height: int, calibrated_size: tuple[int, int]) -> "CameraIntrinsics":
        cw, ch = calibrated_size
        if (cw, ch) == (width, height):
            return self
        if abs(cw * height - ch * width) > max(cw, ch):  # another aspect ratio: another crop of the sensor
            raise LivecapError(f"calibration {self.origin} is for {cw}x{ch} images but the source delivers "
                               f"{width}x{height}: calibrate at this resolution or set the camera to {cw}x{ch}")
        s = width / cw
        return replace(self, fx=self.fx * s, fy=self.fy * s, cx=self.cx * s, cy=self.cy * s)

    def to_dict(self) -> dict:
        record = {"fx": round(self.fx, 3), "fy": round(self.fy, 3), "cx": round(self.cx, 3), "cy": round(self.cy, 3),
                  "origin": self.origin}
        if any(self.distortion):
            record["distortion"] = [round(d, 6) for d in self.distortion]
        return record


def camera_for(width: int, height: int, fov: float | None = None, calibration: str | None = None
               ) -> CameraIntrinsics:
    """The camera a source is seen through: its calibration file when given, else a field of view."""
    if calibration:
        return load_calibration(calibration, width, height)
    return CameraIntrinsics.from_fov(width, height, DEFAULT_HORIZONTAL_FOV_DEG if fov is None else fov)


def load_calibration(path: str | Path, width: int, height: int) -> CameraIntrinsics:
    """The calibration file's camera, scaled to the source's size."""
    camera, size = read_calibration(path)
    return camera.scaled_to(width, height, size) if size else camera


def read_calibration(path: str | Path) -> tuple[CameraIntrinsics, tuple[int, int] | None]:
    """An OpenCV-style calibration (camera matrix, optional distortion and image size) from .yml/.yaml/.xml
    (cv2.FileStorage) or .json (plain nested lists or OpenCV's {"rows", "cols", "data"} matrices), and the image
    size it was made at when the file says. Read where the setting is given (livecap.settings.check_calibration)
    and again when the pipeline is built."""
    path = Path(path)
    fix = "give an OpenCV calibration file with a 3x3 camera_matrix (yml, xml or json)"
    if not path.is_file():
        raise LivecapError(f"calibration file {path} not found: {fix}")
    try:
        fields = _read_json(path) if path.suffix.lower() == ".json" else _read_filestorage(path)
        matrix = np.asarray(_first(fields, _MATRIX_KEYS), np.float64).reshape(3, 3)
        distortion = np.asarray(_first(fields, _DISTORTION_KEYS, default=[]), np.float64).ravel()
        size = (int(fields["image_width"]), int(fields["image_height"])) if "image_width" in fields else None
    except (KeyError, ValueError, TypeError, cv2.error, json.JSONDecodeError) as exc:
        raise LivecapError(f"cannot read calibration file {path} ({exc}): {fix}") from None
    if not (matrix[0, 0] > 0 and matrix[1, 1] > 0 and np.all(np.isfinite(matrix))):
        raise LivecapError(f"calibration file {path} has no positive focal lengths: {fix}")
    camera = CameraIntrinsics(float(matrix[0, 0]), float(matrix[1, 1]), float(matrix[0, 2]), float(matrix[1, 2]),
                              tuple(float(d) for d in distortion), origin=f"calibration {path.name}")
    return camera, size


def _first(fields: dict, keys: tuple[str, ...], default=None):
    for key in keys:
        if key in fields and fields[key] is not None:
            return fields[key]
    if default is None:
        raise KeyError(f"none of {', '.join(keys)}")
    return default


def _read_json(path: Path) -> dict:
    fields = json.loads(path.read_text())
    for key, value in fields.items():
        if isinstance(value, dict) and "data" in value:  # OpenCV's JSON matrix form
            fields[key] = value["data"]
    return fields


def _read_filestorage(path: Path) -> dict:
    storage = cv2.FileStorage(str(path), cv2.FILE_STORAGE_READ)
    if not storage.isOpened():
        raise ValueError("not a YAML/XML file OpenCV can read")
    try:
        fields = {}
        for key in (*_MATRIX_KEYS, *_DISTORTION_KEYS, "image_width", "image_height"):
            node = storage.getNode(key)
            if node.isMap():  # an opencv-matrix
                fields[key] = node.mat()
            elif node.isSeq():
                fields[key] = [node.at(i).real() for i in range(node.size())]
            elif not node.empty():
                fields[key] = node.real()
        return fields
    finally:
        storage.release()
