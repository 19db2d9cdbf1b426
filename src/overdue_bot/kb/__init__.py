"""The knowledge base: its loader (YAML to frozen records, validated), the lint, the example editor
and the hand-off settings."""
