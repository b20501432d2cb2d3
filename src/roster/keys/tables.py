from piccolo.columns import UUID, Timestamptz, Varchar
from piccolo.table import Table


class ApiKey(Table, tablename="api_key"):
    """Only the SHA-256 of a key is stored; the plaintext is shown once, at creation."""

    id = UUID(primary_key=True)
    name = Varchar(length=100)
    role = Varchar(length=16)
    prefix = Varchar(length=16)
    key_hash = Varchar(length=64, unique=True)
    created_at = Timestamptz()
    revoked_at = Timestamptz(null=True, default=None)
