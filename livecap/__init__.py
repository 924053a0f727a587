"""livecap: real-time multi-person 3D motion capture from one webcam."""

__version__ = "0.1.0"
