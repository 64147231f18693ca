"""Models of what cannot exist here: the HX711 chips of a board and an athlete standing on it."""
