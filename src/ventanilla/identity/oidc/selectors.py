"""Reads about relying parties: who may see and manage which."""

from ..models import RelyingParty, StaffRole, User


def integrator_institution_ids(user: User) -> set:
    return set(
        StaffRole.objects.filter(
            user=user, role=StaffRole.Role.INTEGRATOR, institution__isnull=False
        ).values_list("institution_id", flat=True)
    )


def may_register_services(user: User) -> bool:
    """Operators, and integrators of an institution."""
    return user.is_superuser or bool(integrator_institution_ids(user))


def may_manage(user: User, institution) -> bool:
    """Whether the user may register a service for (or move one to) `institution` (None: no institution)."""
    if user.is_superuser:
        return True
    return institution is not None and institution.id in integrator_institution_ids(user)


def services_managed_by(user: User):
    """Operators see every service; integrators only their own institutions'."""
    queryset = RelyingParty.objects.select_related("institution").order_by("client_id")
    if user.is_superuser:
        return queryset
    return queryset.filter(institution_id__in=integrator_institution_ids(user))
