"""Everything between the board's wire and a stream of raw samples."""
