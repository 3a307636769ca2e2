from vdbench.cli import main

main()
