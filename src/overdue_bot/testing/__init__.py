"""For knowledge-base authors: scripted dialogue files, the pytest plugin that runs them, intent
and slot evaluation, and the left-out cross-validation."""
