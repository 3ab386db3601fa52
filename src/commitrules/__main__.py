from commitrules.cli import run

run()
