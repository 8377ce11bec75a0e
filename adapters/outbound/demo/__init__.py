"""Demo platform and caption generator, good enough to watch a job run in the embedded default."""
