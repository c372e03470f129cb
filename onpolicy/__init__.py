"""onpolicy: a static-site generator for one reproducible article."""
