"""Background tasks: thin wrappers over the import jobs."""

from django.db import InterfaceError, OperationalError
from django_tasks import task

from qiangcun.core import audit
from qiangcun.imports.services import job_fail_when_back, job_run


@task()
def run_import_job(job_id: str) -> None:
    with audit.origin(channel=audit.Channel.JOB), audit.job_failures(f"后台导入任务 {job_id}"):
        try:
            job_run(job_id)
        except (OperationalError, InterfaceError):
            job_fail_when_back(job_id)  # the database went away mid-job: say so once it is back
            raise
