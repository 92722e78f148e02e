"""``python -m evaluator_service``: the same as ``judgeval-evaluator`` (the server extra is checked first, so
a plain install prints one line saying what to install, never an ``ImportError`` traceback)."""

from evaluator_service.entry_point import main

if __name__ == "__main__":
    main()
