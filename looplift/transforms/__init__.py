"""The transforms, one small pass per file, each reading the analysis' conclusions."""
