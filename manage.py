#!/usr/bin/env python
from troubleshooter.__main__ import main

if __name__ == "__main__":
    main()
