"""django-q2's own models (schedules, task results, the ORM queue) on our admin site, superusers only."""

from django_q.admin import FailAdmin, QueueAdmin, ScheduleAdmin, TaskAdmin
from django_q.models import Failure, OrmQ, Schedule, Success

from mlconnector.admin_site import admin_site


class SuperuserOnly:
    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    has_change_permission = has_view_permission
    has_delete_permission = has_view_permission

    def has_add_permission(self, request):
        return request.user.is_active and request.user.is_superuser


for model, base in ((Schedule, ScheduleAdmin), (Success, TaskAdmin), (Failure, FailAdmin), (OrmQ, QueueAdmin)):
    admin_site.register(model, type(f"Scoped{base.__name__}", (SuperuserOnly, base), {}))
