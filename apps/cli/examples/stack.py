class Stack:
    """A last-in, first-out stack."""

    def __init__(self):