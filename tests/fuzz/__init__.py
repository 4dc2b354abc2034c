"""Property-based fuzzing (hypothesis) of everything that parses outside input."""
