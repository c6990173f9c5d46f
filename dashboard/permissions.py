"""The console's permission names, as views, services, tasks and the sidebar check them.

The permissions themselves are declared on `dashboard.models.CustodianPermission` (created by migration) and
handed to the groups by `dashboard/migrations/0002_staff_groups.py`.
"""

VIEW_TRASH = "dashboard.view_trash"
RESTORE_TRASH = "dashboard.restore_trash"
PURGE_TRASH = "dashboard.purge_trash"
MANAGE_RETENTION = "dashboard.manage_retention"
VIEW_VALIDATION_REPORT = "dashboard.view_validation_report"
RUN_VALIDATION_SCAN = "dashboard.run_validation_scan"
VIEW_HOOK_REGISTRY = "dashboard.view_hook_registry"
RESET_HOOK_STATS = "dashboard.reset_hook_stats"
VIEW_DBHEALTH = "dashboard.view_dbhealth"
