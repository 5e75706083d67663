"""`python -m vaultsync` runs the CLI."""

from vaultsync.cli import main

main()
