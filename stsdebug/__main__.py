from stsdebug.cli import main

main()
