"""The guides: content read from `guides/`, the decision tree, search, and their pages."""
