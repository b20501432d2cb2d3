from piccolo.columns import JSON, UUID, ForeignKey, Integer, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table


class AppUser(Table, tablename="app_user"):
    """A person who signs in to the workspace; systems use API keys instead. Same five roles as keys.

    Emails are stored lower-cased, so uniqueness is case-insensitive on both backends.
    """

    id = UUID(primary_key=True)
    email = Varchar(length=254, unique=True)
    role = Varchar(length=16)
    #: argon2id, PHC string format (parameters included, so they can be raised later).
    password_hash = Varchar(length=255)
    created_at = Timestamptz()
    disabled_at = Timestamptz(null=True, default=None)
    last_sign_in_at = Timestamptz(null=True, default=None)
    #: Consecutive failed sign-ins since the last success or lockout.
    failed_attempts = Integer(default=0)
    #: Sign-in is refused until then, even with the right password.
    locked_until = Timestamptz(null=True, default=None)


class WebSession(Table, tablename="web_session"):
    """A signed-in browser. In the database, not in a process, so every replica sees every session.

    ``id`` is the SHA-256 of the cookie's random token: the table alone opens no session.
    """

    id = Varchar(length=64, primary_key=True)
    user = ForeignKey(references=AppUser, on_delete=OnDelete.cascade, null=False, index=True)
    created_at = Timestamptz()
    #: Updated at most once a minute (``roster.users.service.TOUCH_EVERY``); drives the idle expiry.
    last_seen_at = Timestamptz()
    #: The absolute end, fixed at sign-in.
    expires_at = Timestamptz(index=True)
    #: Per-session state; ``csrf`` is the token every form of this session carries.
    data = JSON(default="{}")
