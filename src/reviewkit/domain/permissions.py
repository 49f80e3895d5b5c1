"""Who may do what: permissions the host grants, checked by reviewkit.

The host application knows its users; it passes an :class:`Actor` to every service call,
and the service checks the permission the action needs (its access list).
"""

from __future__ import annotations

import enum

import attrs

from reviewkit.errors import PermissionDeniedError

__all__ = ["Actor", "Permission"]


class Permission(enum.StrEnum):
    """One thing an actor may be allowed to do."""

    VIEW_CAMPAIGN = "campaign.view"
    """See campaigns, their recipients and counts."""
    CREATE_CAMPAIGN = "campaign.create"
    """Create a campaign."""
    EDIT_CAMPAIGN = "campaign.edit"
    """Change settings, schedule, pause, resume, cancel, retry, send a test."""
    DELETE_CAMPAIGN = "campaign.delete"
    """Delete a campaign that never sent anything."""
    ADD_RECIPIENT = "recipient.add"
    """Add recipients to a campaign."""
    REMOVE_RECIPIENT = "recipient.remove"
    """Remove a pending recipient from a campaign."""


def _to_permissions(values: object) -> frozenset[Permission]:
    if not isinstance(values, (set, frozenset, list, tuple)):
        raise TypeError("permissions must be a collection of Permission")
    return frozenset(Permission(v) for v in values)


@attrs.frozen(kw_only=True)
class Actor:
    """The user on whose behalf a service call runs.

    :param id: the host's user id, recorded in the audit trail.
    :param email: where a test send goes.
    :param permissions: what this user may do.
    """

    id: str
    email: str | None = None
    permissions: frozenset[Permission] = attrs.field(factory=frozenset, converter=_to_permissions)

    @classmethod
    def system(cls, email: str | None = None) -> Actor:
        """An actor with every permission, for scripts, jobs and the CLI."""
        return cls(id="system", email=email, permissions=frozenset(Permission))

    def can(self, permission: Permission) -> bool:
        """Return whether this actor holds *permission*."""
        return permission in self.permissions

    def require(self, permission: Permission, action: str) -> None:
        """Check that this actor may perform *action*.

        :raises PermissionDeniedError: naming the user, the action and the missing permission.
        """
        if permission not in self.permissions:
            raise PermissionDeniedError(
                f"user {self.id!r} may not {action}: missing permission {permission.value!r}"
            )
