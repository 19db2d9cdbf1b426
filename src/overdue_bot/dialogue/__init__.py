"""The conversation: the state machine (one ordered table), the session record and the renderer of
answer variants."""
