"""BVH files: read, write, repair (see README "BVH recording")."""
