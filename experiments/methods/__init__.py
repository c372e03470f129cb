"""One module per learning method: its loss, its output size, and run()/merge()."""
