#!/usr/bin/env python3
"""Build the onpolicy site. `python build.py --help` lists the commands and flags."""
import sys

from onpolicy.cli import main

if __name__ == "__main__":
    sys.exit(main())
