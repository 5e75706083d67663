"""`python -m vaultsync` runs the CLI."""

from vaultsync.cli.app import main

main()
