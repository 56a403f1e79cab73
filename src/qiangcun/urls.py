from django.contrib.auth.views import LogoutView
from django.urls import path

from qiangcun.accounts import security
from qiangcun.accounts import views as accounts
from qiangcun.accounts.views import QiangcunLoginView
from qiangcun.api.api import api
from qiangcun.assets import views as assets
from qiangcun.contracts import io_views as contracts_io
from qiangcun.contracts import views as contracts
from qiangcun.core import web as core_web
from qiangcun.exports import views as exports
from qiangcun.imports import views as import_views
from qiangcun.ledger import views as ledger
from qiangcun.orgs import views as orgs
from qiangcun.plans import export_views as plans_export
from qiangcun.plans import views as plans
from qiangcun.supervision import views as supervision
from qiangcun.targets import maps
from qiangcun.targets import views as targets
from qiangcun.web import views as web

handler400 = "qiangcun.core.web.bad_request"

handler403 = "qiangcun.core.web.permission_denied"
handler404 = "qiangcun.core.web.page_not_found"
handler500 = "qiangcun.core.web.server_error"

urlpatterns = [
    path("", web.home, name="home"),
    path("healthz", core_web.healthz, name="healthz"),
    path("login/", QiangcunLoginView.as_view(), name="login"),
    path("logout/", LogoutView.as_view(), name="logout"),
    path("login/verify/", security.otp_verify, name="otp_verify"),
    path("password/", accounts.password_change, name="password_change"),
    path("account/security/", security.otp_setup, name="otp_setup"),
    path("account/security/remove/", security.otp_remove, name="otp_remove"),
    path("people/", accounts.people_page, name="people"),
    path("people/new/", accounts.person_new, name="person_new"),
    path("people/<int:pk>/", accounts.person_page, name="person"),
    path("people/<int:pk>/disable/", accounts.person_disable, name="person_disable"),
    path("people/<int:pk>/enable/", accounts.person_enable, name="person_enable"),
    path("people/<int:pk>/reset-password/", accounts.person_reset, name="person_reset"),
    path("people/<int:pk>/reset-otp/", accounts.person_otp_reset, name="person_otp_reset"),
    path("people/<int:pk>/grant/", accounts.person_grant, name="person_grant"),
    path("grants/<int:pk>/withdraw/", accounts.grant_withdraw, name="grant_withdraw"),
    path("roles/", accounts.roles_page, name="roles"),
    path("roles/policy/", accounts.security_policy, name="security_policy"),
    path("progress/", targets.progress_page, name="progress"),
    path("progress/export.xlsx", targets.progress_export, name="progress_export"),
    path("progress/poster.pdf", supervision.progress_poster, name="progress_poster"),
    path("bulletins/", supervision.bulletin_list, name="bulletins"),
    path("bulletins/preview/", supervision.bulletin_preview, name="bulletin_preview"),
    path("bulletins/preview.pdf", supervision.bulletin_preview_pdf, name="bulletin_preview_pdf"),
    path("bulletins/issue/", supervision.bulletin_issue, name="bulletin_issue"),
    path("bulletins/settings/", supervision.bulletin_settings, name="bulletin_settings"),
    path("bulletins/<int:pk>/", supervision.bulletin_page, name="bulletin"),
    path("bulletins/<int:pk>.docx", supervision.bulletin_file, {"kind": "docx"}, name="bulletin_docx"),
    path("bulletins/<int:pk>.pdf", supervision.bulletin_file, {"kind": "pdf"}, name="bulletin_pdf"),
    path("meeting/", supervision.meeting_screen, name="meeting_screen"),
    path("meetings/", supervision.meeting_list, name="meetings"),
    path("meetings/new/", supervision.meeting_new, name="meeting_new"),
    path("meetings/<int:pk>/", supervision.meeting_page, name="meeting"),
    path("contracts/", contracts.contracts_page, name="contracts"),
    path("contracts/new/", contracts.contract_new, name="contract_new"),
    path("contracts/settings/", contracts.contract_settings, name="contract_settings"),
    path("contracts/import/", contracts_io.contracts_import, name="contracts_import"),
    path(
        "contracts/import/template.xlsx",
        contracts_io.contracts_import_template,
        name="contracts_import_template",
    ),
    path("contracts/arrears.xlsx", contracts_io.contracts_arrears_export, name="contracts_arrears_export"),
    path("contracts/export.xlsx", contracts_io.contracts_export, name="contracts_export"),
    path("contracts/<int:pk>/", contracts.contract_page, name="contract"),
    path("contracts/<int:pk>/pay/", contracts.payment_new, name="contract_payment"),
    path("contracts/<int:pk>/terminate/", contracts.contract_terminate, name="contract_terminate"),
    path("contracts/<int:pk>/scan/", contracts.contract_scan, name="contract_scan"),
    path("contracts/<int:pk>/reveal/", contracts.contract_reveal, name="contract_reveal"),
    path("contracts/payments/<int:pk>/cancel/", contracts.payment_cancel, name="contract_payment_cancel"),
    path("contracts/payments/<int:pk>/reverse/", contracts.payment_reverse, name="contract_payment_reverse"),
    path("plans/", plans.plans_page, name="plans"),
    path("plans/<str:code>/<int:year>/", plans.plan_page, name="plan"),
    path("plans/<str:code>/<int:year>/edit/", plans.plan_edit, name="plan_edit"),
    path("plans/<str:code>/<int:year>/measures/new/", plans.measure_new, name="measure_new"),
    path("measures/<int:pk>/", plans.measure_page, name="measure"),
    path("inspections/", supervision.inspection_list, name="inspections"),
    path("inspections/new/", supervision.inspection_new, name="inspection_new"),
    path("inspections/export.xlsx", supervision.inspection_export, name="inspections_export"),
    path("inspections/<int:pk>/", supervision.inspection_page, name="inspection"),
    path("inspections/photos/<int:pk>/", supervision.inspection_photo, name="inspection_photo"),
    path("inspections/findings/<int:pk>/rectify/", supervision.finding_rectify, name="finding_rectify"),
    path("rectifications/", supervision.rectification_list, name="rectifications"),
    path("rectifications/export.xlsx", supervision.rectification_export, name="rectifications_export"),
    path("rectifications/<int:pk>/", supervision.rectification_page, name="rectification"),
    path("rectifications/<int:pk>/start/", supervision.rectification_start, name="rectification_start"),
    path("rectifications/<int:pk>/submit/", supervision.rectification_submit, name="rectification_submit"),
    path("rectifications/<int:pk>/close/", supervision.rectification_close, name="rectification_close"),
    path("rectifications/<int:pk>/reopen/", supervision.rectification_reopen, name="rectification_reopen"),
    path("rectifications/<int:pk>/edit/", supervision.rectification_edit, name="rectification_edit"),
    path(
        "rectifications/evidence/<int:pk>/", supervision.rectification_evidence, name="rectification_evidence"
    ),
    path("interviews/", supervision.interview_list, name="interviews"),
    path("interviews/export.xlsx", supervision.interview_export, name="interviews_export"),
    path("interviews/new/", supervision.interview_new, name="interview_new"),
    path("interviews/<int:pk>/", supervision.interview_page, name="interview"),
    path("interviews/<int:pk>/follow-up/", supervision.interview_follow_up, name="interview_follow_up"),
    path("map/", maps.map_page, name="map"),
    path("map/upload/", maps.map_upload, name="map_upload"),
    path("units/export.xlsx", orgs.units_export, name="units_export"),
    path("targets/<int:year>/export.xlsx", targets.targets_export, name="targets_export"),
    path("ledger/export.xlsx", exports.ledger_export, name="ledger_export"),
    path("exports/<uuid:pk>/", exports.export_job, name="export_job"),
    path("exports/<uuid:pk>/file.xlsx", exports.export_job_file, name="export_job_file"),
    path("plans/export.xlsx", plans_export.plans_export, name="plans_export"),
    path("villages/<str:code>/", targets.village_page, name="village"),
    path("targets/<int:year>/", targets.targets_page, name="targets"),
    path("ledger/new/", ledger.entry_new, name="entry_new"),
    path("ledger/amount-echo/", ledger.amount_echo, name="amount_echo"),
    path("ledger/<int:pk>/edit/", ledger.entry_edit, name="entry_edit"),
    path("ledger/<int:pk>/submit/", ledger.entry_submit, name="entry_submit"),
    path("ledger/<int:pk>/delete/", ledger.entry_delete, name="entry_delete"),
    path("ledger/<int:pk>/reverse/", ledger.entry_reverse, name="entry_reverse"),
    path("ledger/evidence/<int:pk>/", ledger.evidence_file, name="evidence_file"),
    path("review/", ledger.review, name="review"),
    path("assets/", assets.assets_page, name="assets"),
    path("assets/export.xlsx", assets.assets_export, name="assets_export"),
    path("assets/new/", assets.asset_new, name="asset_new"),
    path("assets/<int:pk>/", assets.asset_page, name="asset"),
    path("assets/<int:pk>/edit/", assets.asset_edit, name="asset_edit"),
    path("assets/<int:pk>/status/", assets.asset_status, name="asset_status"),
    path("assets/<int:pk>/files/", assets.asset_upload, name="asset_upload"),
    path("assets/files/<int:pk>/", assets.asset_file, name="asset_file"),
    path("assets/rounds/", assets.rounds_page, name="rounds"),
    path("assets/rounds/<int:pk>/", assets.round_page, name="round"),
    path("assets/rounds/<int:pk>/add/", assets.round_add, name="round_add"),
    path("assets/rounds/<int:pk>/sign/", assets.round_sign, name="round_sign"),
    path("assets/rounds/<int:pk>/export.xlsx", assets.round_export, name="round_export"),
    path("assets/rounds/lines/<int:pk>/count/", assets.round_count, name="round_count"),
    path("audit/", web.audit_log, name="audit_log"),
    path("audit/export.xlsx", web.audit_export, name="audit_export"),
    path("import/", import_views.import_home, name="import_home"),
    path("import/template/<str:kind>.xlsx", import_views.import_template, name="import_template"),
    path("import/jobs/<uuid:pk>/", import_views.import_job, name="import_job"),
    path("import/jobs/<uuid:pk>/confirm/", import_views.import_job_confirm, name="import_job_confirm"),
    path("import/jobs/<uuid:pk>/report.xlsx", import_views.import_job_report, name="import_job_report"),
    path(
        "import/jobs/<uuid:pk>/passwords.xlsx", import_views.import_job_passwords, name="import_job_passwords"
    ),
    path("import/<str:kind>/", import_views.import_kind, name="import_kind"),
    path("api/v1/", api.urls),
]
