"""``spark-submit`` runs this file: ``commitrules spark check`` with the arguments given
(``commitrules spark stream`` when the first is ``stream``).

    SUBMIT=$(python -c "import commitrules.spark.__main__ as m; print(m.__file__)")
    spark-submit --master yarn "$SUBMIT" hdfs:///bank/events/2026/ --out violations.parquet

The same as ``python -m commitrules.spark EVENTS ...`` (a local session then).
"""

import sys

from commitrules.cli import main

if __name__ == "__main__":
    arguments = sys.argv[1:]
    if arguments[:1] == ["stream"]:
        sys.exit(main(["spark", *arguments]))
    sys.exit(main(["spark", "check", *arguments]))
