"""BVH files: read, write, repair (see docs/bvh.md)."""
