from piccolo.columns import UUID, Date, Timestamptz, Varchar
from piccolo.table import Table


class ApiKey(Table, tablename="api_key"):
    """Only the SHA-256 of a key is stored; the plaintext is shown once, at creation.

    Names are not unique: rotating a client's key means two live keys under one name for a while.
    """

    id = UUID(primary_key=True)
    name = Varchar(length=100)
    role = Varchar(length=16)
    prefix = Varchar(length=16)
    key_hash = Varchar(length=64, unique=True)
    created_at = Timestamptz()
    revoked_at = Timestamptz(null=True, default=None)
    #: The last day (UTC) the key is accepted; None: until revoked.
    expires_on = Date(null=True, default=None)
    #: When the key last authenticated, to the minute (each process writes it at most once a minute).
    last_used_at = Timestamptz(null=True, default=None)
