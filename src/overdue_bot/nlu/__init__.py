"""Understanding one message: normalisation, numerals, slots, the segmenter, the matcher and the
pipeline that joins them.  Pure given its records; the segmenter's dictionary is the one adapter."""
