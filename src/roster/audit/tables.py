from piccolo.columns import JSON, UUID, Timestamptz, Varchar
from piccolo.table import Table


class AuditEvent(Table, tablename="audit_event"):
    id = UUID(primary_key=True)
    occurred_at = Timestamptz(index=True)
    actor = Varchar(length=100)
    action = Varchar(length=32)
    entity = Varchar(length=32, index=True)
    entity_id = Varchar(length=64, index=True)
    before = JSON(null=True, default=None)
    after = JSON(null=True, default=None)
