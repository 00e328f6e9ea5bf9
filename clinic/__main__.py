"""`python -m clinic` is the `clinic` command."""

from clinic.cli import main

main()
