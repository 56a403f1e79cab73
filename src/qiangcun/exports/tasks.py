"""Background tasks: thin wrappers over the export jobs."""

from django_tasks import task

from qiangcun.core import audit
from qiangcun.exports.services import job_run


@task()
def run_export_job(job_id: str) -> None:
    with audit.origin(channel=audit.Channel.JOB), audit.job_failures(f"后台导出任务 {job_id}"):
        job_run(job_id)
