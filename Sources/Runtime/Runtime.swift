// The Runtime module. See DEVELOPERS.md for its place in the pipeline.
