"""Entry point of the CNI plugin's PyInstaller bundle (see bundle.sh): the `pyantrea-cni` program."""

import sys

from cni.main import main

if __name__ == "__main__":
    sys.exit(main())
