"""Reading and writing the files merchants bring and take away."""
