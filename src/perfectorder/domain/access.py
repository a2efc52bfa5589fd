"""Who may do what: roles, permissions and the tenant scope of a caller. Pure rules, no I/O."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Role(enum.StrEnum):
    ADMIN = "admin"
    OPERATOR = "operator"
    ANALYST = "analyst"
    CHANNEL = "channel"
    CUSTOMER = "customer"


class Permission(enum.StrEnum):
    ORDERS_READ = "orders:read"
    ORDERS_PLACE = "orders:place"
    ORDERS_MANAGE = "orders:manage"
    CATALOG_READ = "catalog:read"
    CATALOG_WRITE = "catalog:write"
    STOCK_READ = "stock:read"
    STOCK_WRITE = "stock:write"
    CUSTOMERS_READ = "customers:read"
    CUSTOMERS_WRITE = "customers:write"
    REPORTS_READ = "reports:read"
    FULFILMENT = "fulfilment:manage"
    FEEDBACK_WRITE = "feedback:write"
    RETURNS_OPEN = "returns:open"
    AUDIT_READ = "audit:read"
    WEBHOOKS_MANAGE = "webhooks:manage"
    KEYS_MANAGE = "keys:manage"


P = Permission
_READ = frozenset({P.ORDERS_READ, P.CATALOG_READ, P.STOCK_READ, P.CUSTOMERS_READ, P.REPORTS_READ})
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    # Operators include customer service, who open returns on the customer's behalf.
    Role.OPERATOR: _READ
    | {P.ORDERS_PLACE, P.ORDERS_MANAGE, P.STOCK_WRITE, P.CATALOG_WRITE, P.CUSTOMERS_WRITE, P.RETURNS_OPEN},
    Role.ANALYST: _READ,
    # A sales channel places and reads its own orders, and must see the catalog to price them.
    Role.CHANNEL: frozenset({P.ORDERS_READ, P.ORDERS_PLACE, P.CATALOG_READ, P.STOCK_READ}),
    # A customer portal: their own orders, their feedback, their returns.
    Role.CUSTOMER: frozenset({P.ORDERS_READ, P.CATALOG_READ, P.FEEDBACK_WRITE, P.RETURNS_OPEN}),
}


TENANT_ROLES = frozenset({Role.CHANNEL, Role.CUSTOMER})


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller: an API key or a dashboard user."""

    name: str
    role: Role
    channel: str | None = None
    customer_id: int | None = None
    key_id: int | None = None
    user_id: int | None = None

    @property
    def is_tenant(self) -> bool:
        """A channel or a customer portal: sees its own orders only, and none of our internals."""
        return self.role in TENANT_ROLES

    def can(self, permission: Permission) -> bool:
        return permission in ROLE_PERMISSIONS[self.role]

    @property
    def actor(self) -> str:
        """How the caller is named in timelines and the audit log."""
        if self.key_id is not None:
            return f"key:{self.key_id}:{self.name}"
        if self.user_id is not None:
            return f"user:{self.user_id}:{self.name}"
        return self.name

    def sees(self, *, channel: str, customer_id: int) -> bool:
        """Tenant isolation: a channel sees its own orders, a customer theirs, staff everything."""
        if self.role is Role.CHANNEL:
            return channel == self.channel
        if self.role is Role.CUSTOMER:
            return customer_id == self.customer_id
        return True


SYSTEM = Principal(name="system", role=Role.ADMIN)
