"""The command line's one notion of a user's mistake: printed as one line, exit status 2."""


class UserError(Exception):
    """A mistake or a situation the user can fix; the message says how."""
