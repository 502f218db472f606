"""The benchmark's workflow package: the engine's full path with one guard, a review and four eyes."""
