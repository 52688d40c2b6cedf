from spendwatch.cli.commands import main

main()
