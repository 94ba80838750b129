from sharestack.errors import Conflict, Unauthorized


class InvalidCredentials(Unauthorized):
    code = "invalid_credentials"
    # The same answer for an unknown email and a wrong password: nothing to enumerate.
    message = "The email or password is incorrect."


class EmailTaken(Conflict):
    code = "email_taken"
    message = "An account with this email already exists."
