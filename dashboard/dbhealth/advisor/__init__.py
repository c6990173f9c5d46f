"""The index advisor: candidate indexes read off the plans of the costliest statements, proven with
hypothetical indexes, handed over as a Meta.indexes entry and a migration."""
