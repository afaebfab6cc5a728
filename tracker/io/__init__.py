"""Input/output at the edges: MOTChallenge files, video sources, writers."""
