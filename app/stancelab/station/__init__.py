"""What a station does with a board: choose and open it, calibrate it, record from it."""
