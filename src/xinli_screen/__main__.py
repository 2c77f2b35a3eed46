"""``python -m xinli_screen`` runs the command-line interface."""

from xinli_screen.cli.app import main

if __name__ == "__main__":
    main()
