"""Signing in, one's own password, and the account pages of the system and security admins."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import user_has_device

from qiangcun.accounts import policy, selectors, services
from qiangcun.accounts.forms import GrantForm, PasswordChangeForm, PersonEditForm, PersonForm
from qiangcun.accounts.http import AuthedRequest
from qiangcun.accounts.models import Role, RoleGrant, User
from qiangcun.accounts.security import reauth_required
from qiangcun.accounts.signin import lockout_minutes, password_expired
from qiangcun.core.errors import ServiceError
from qiangcun.core.params import choice_param, text_param
from qiangcun.core.scope import Action
from qiangcun.core.web import require
from qiangcun.orgs.models import OrgUnit

PAGE_SIZE = 50


class ChineseAuthenticationForm(AuthenticationForm):
    error_messages = {
        "invalid_login": "用户名或密码不正确，请重新输入（注意区分大小写）",
        "inactive": "该账号已停用，请联系镇党建办",
    }


class QiangcunLoginView(LoginView):
    template_name = "accounts/login.html"
    authentication_form = ChineseAuthenticationForm
    redirect_authenticated_user = True

    def form_invalid(self, form: AuthenticationForm) -> HttpResponse:
        """A wrong password says how many tries are left before the lockout (the account's count)."""
        username = self.request.POST.get("username", "")
        if username:
            failures = AxesProxyHandler.get_failures(self.request, {"username": username})
            left = policy.current().lockout_failures - failures
            if 0 < left <= 3:
                form.add_error(None, f"再输错 {left} 次，账号将被锁定 {lockout_minutes()} 分钟")
        return super().form_invalid(form)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["first_run"] = not OrgUnit.objects.exists()
        expired = self.request.GET.get("expired", "")
        context["expired"] = expired if expired in ("idle", "absolute") else ""
        rules = policy.current()
        context["idle_minutes"] = rules.idle_minutes
        context["session_hours"] = rules.session_hours
        if settings.DEMO:
            # Demo mode only: the demo's accounts (named demo-…) with their roles, read from the database.
            grants = RoleGrant.objects.filter(
                user__username__startswith="demo-", user__is_active=True
            ).select_related("user")
            accounts: dict[str, tuple[str, str, str]] = {}
            for grant in grants.order_by("user_id"):
                accounts.setdefault(
                    grant.user.username, (grant.user.username, str(grant.user), grant.get_role_display())
                )
            context["demo_accounts"] = list(accounts.values())
            context["demo_password"] = settings.DEMO_PASSWORD
        return context


# --- one's own password ----------------------------------------------------------------------------------


@sensitive_post_parameters("old_password", "new_password1", "new_password2")
@require()
@require_http_methods(["GET", "POST"])
def password_change(request: AuthedRequest) -> HttpResponse:
    """Change one's own password; the only page open to someone holding a one-time password."""
    form = PasswordChangeForm(request.POST or None)
    if not request.user.must_change_password:
        form.fields["old_password"].label = "原密码"
    if request.method == "POST" and form.is_valid():
        try:
            user = services.password_change(
                user=request.user,
                old=form.cleaned_data["old_password"],
                new=form.cleaned_data["new_password1"],
            )
        except ServiceError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            update_session_auth_hash(request, user)
            messages.success(request, "密码已修改，以后请用新密码登录")
            return redirect("home")
    return render(
        request,
        "accounts/password_change.html",
        {
            "form": form,
            "rules": services.password_rules(),
            "forced": request.user.must_change_password,
            "expired": password_expired(request.user),
            "max_age": policy.current().password_max_age_days,
        },
    )


# --- people and their accounts (system admin) -------------------------------------------------------------


def _may_see_people(user: User) -> None:
    if not (user.can(Action.MANAGE_USERS) or user.can(Action.GRANT_ROLES)):
        raise PermissionDenied("没有权限")


def _unit(code: str | None, units: list[OrgUnit]) -> OrgUnit:
    found = next((u for u in units if u.code == code), None)
    if found is None:
        raise ServiceError("请从列表中选择单位", field="unit")
    return found


STATUS_FILTERS = {"": "全部", "norole": "尚无角色", "otp": "待改密码", "disabled": "已停用"}


@require()
def people_page(request: AuthedRequest) -> HttpResponse:
    """Everyone whose account the admin manages: name, username, phone, unit, roles, state."""
    user = request.user
    _may_see_people(user)
    status = choice_param(request.GET.get("status"), STATUS_FILTERS, field="status", label="状态")
    q = text_param(request.GET.get("q"), field="q", label="搜索") or ""
    rows = selectors.people(user)
    counts = {
        "all": rows.count(),
        "norole": rows.filter(grants__isnull=True, is_active=True).count(),
        "otp": rows.filter(must_change_password=True, is_active=True).count(),
        "disabled": rows.filter(is_active=False).count(),
    }
    if status == "norole":
        rows = rows.filter(grants__isnull=True, is_active=True)
    elif status == "otp":
        rows = rows.filter(must_change_password=True, is_active=True)
    elif status == "disabled":
        rows = rows.filter(is_active=False)
    if q:
        found = Q(username__icontains=q) | Q(display_name__icontains=q)
        if user.can(Action.MANAGE_USERS):  # who sees phone numbers whole may search by them
            found |= Q(phone__contains=q)
        rows = rows.filter(found)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "accounts/people.html",
        {
            "page": page,
            "status": status,
            "q": q,
            "counts": counts,
            "filters": STATUS_FILTERS,
            "can_manage": user.can(Action.MANAGE_USERS),
            "can_grant": user.can(Action.GRANT_ROLES),
        },
    )


def _one_time(request: AuthedRequest, person: User, password: str, *, reset: bool) -> HttpResponse:
    response = render(
        request,
        "accounts/one_time_password.html",
        {
            "person": person,
            "password": password,
            "reset": reset,
            "login_url": request.build_absolute_uri("/login/"),
        },
    )
    response["Cache-Control"] = "no-store"
    return response


@require(Action.MANAGE_USERS)
@require_http_methods(["GET", "POST"])
def person_new(request: AuthedRequest) -> HttpResponse:
    """A new account with a one-time password, shown once on the answer page to print or copy."""
    units = list(OrgUnit.objects.restrict(request.user, Action.MANAGE_USERS).order_by("path"))
    form = PersonForm(request.POST or None, units=units, initial={"unit": units[0].code if units else ""})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            person, password = services.account_create(
                actor=request.user,
                username=data["username"],
                display_name=data["display_name"],
                phone=data["phone"],
                unit=_unit(data["unit"], units),
            )
        except ServiceError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            return _one_time(request, person, password, reset=False)
    return render(request, "accounts/person_new.html", {"form": form})


def _person(request: AuthedRequest, pk: int) -> User:
    found = selectors.people(request.user).filter(pk=pk).first()
    if found is None:
        raise Http404("找不到这个账号，或它不在您的管理范围内")
    return found


@require()
@require_http_methods(["GET", "POST"])
def person_page(request: AuthedRequest, pk: int) -> HttpResponse:
    """One person: their details (editable by the system admin), their roles with 撤销, a form to
    grant another, and the buttons to disable, enable and reset the password."""
    user = request.user
    _may_see_people(user)
    person = _person(request, pk)
    can_manage = selectors.manageable_users(user).filter(pk=person.pk).exists() and person.pk != user.pk
    manage_units = list(OrgUnit.objects.restrict(user, Action.MANAGE_USERS).order_by("path"))
    edit = PersonEditForm(
        request.POST or None,
        units=manage_units,
        initial={
            "display_name": person.display_name,
            "phone": person.phone,
            "unit": person.unit.code if person.unit else "",
        },
    )
    if request.method == "POST":
        if not can_manage:
            raise PermissionDenied("您不能修改这个账号")
        if edit.is_valid():
            try:
                services.account_update(
                    actor=user,
                    user=person,
                    display_name=edit.cleaned_data["display_name"],
                    phone=edit.cleaned_data["phone"],
                    unit=_unit(edit.cleaned_data["unit"], manage_units),
                )
            except ServiceError as exc:
                edit.add_error(exc.field if exc.field in edit.fields else None, exc.message)
            else:
                messages.success(request, f"已保存{person}的资料")
                return redirect("person", pk=person.pk)
    grant_units = list(selectors.grant_units(user))
    security = selectors.security_grants()
    grants = [(g, selectors.may_withdraw(user, g, security)) for g in person.grants.all()]
    return render(
        request,
        "accounts/person.html",
        {
            "person": person,
            "edit": edit,
            "can_manage": can_manage,
            "grants": grants,
            "grant_form": GrantForm(units=grant_units, initial=_grant_initial(person, grant_units))
            if grant_units and person.pk != user.pk
            else None,
            "grant_note": "" if grant_units else _grant_note(user),
            "has_otp": user_has_device(person, confirmed=True),
        },
    )


#: The role a person of each level most likely needs, offered first.
LIKELY_ROLE = {
    "township": Role.LEADER,
    "county": Role.LEADER,
    "station": Role.STATION_HEAD,
    "district": Role.DISTRICT_SECRETARY,
    "village": Role.VILLAGE_CLERK,
}


def _grant_initial(person: User, units: list[OrgUnit]) -> dict[str, str]:
    """The grant form starts on the person's own unit, with the role people there usually hold."""
    unit = person.unit if person.unit in units else None
    if unit is None:
        return {}
    return {"unit": unit.code, "role": LIKELY_ROLE.get(unit.level, "")}


def _grant_note(user: User) -> str:
    if user.can(Action.GRANT_ROLES):
        return "本镇设有安全管理员：角色由安全管理员授予和撤销。"
    return ""


def _person_action(request: AuthedRequest, pk: int, act: Callable[[User], Any], done: str) -> HttpResponse:
    person = _person(request, pk)
    try:
        act(person)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done.format(person=person))
    return redirect("person", pk=person.pk)


@require(Action.MANAGE_USERS)
@require_POST
def person_disable(request: AuthedRequest, pk: int) -> HttpResponse:
    return _person_action(
        request, pk, lambda p: services.account_disable(actor=request.user, user=p), "已停用{person}的账号"
    )


@require(Action.MANAGE_USERS)
@require_POST
def person_enable(request: AuthedRequest, pk: int) -> HttpResponse:
    return _person_action(
        request, pk, lambda p: services.account_enable(actor=request.user, user=p), "已启用{person}的账号"
    )


@require(Action.MANAGE_USERS)
@require_POST
@sensitive_post_parameters("_reauth_password", "_reauth_otp")
@reauth_required()
def person_otp_reset(request: AuthedRequest, pk: int) -> HttpResponse:
    """Unbind a person's authenticator (lost or changed phone); they bind a new one at the next sign-in."""
    return _person_action(
        request,
        pk,
        lambda p: services.otp_reset(actor=request.user, user=p),
        "已重置{person}的双因素认证：下次登录时重新绑定手机验证器",
    )


@require(Action.MANAGE_USERS)
@require_POST
@sensitive_post_parameters("_reauth_password", "_reauth_otp")
@reauth_required()
def person_reset(request: AuthedRequest, pk: int) -> HttpResponse:
    """A new one-time password, shown once."""
    person = _person(request, pk)
    try:
        password = services.password_reset(actor=request.user, user=person)
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect("person", pk=person.pk)
    return _one_time(request, person, password, reset=True)


@require(Action.GRANT_ROLES)
@require_POST
@sensitive_post_parameters("_reauth_password", "_reauth_otp")
@reauth_required()
def person_grant(request: AuthedRequest, pk: int) -> HttpResponse:
    person = _person(request, pk)
    units = list(selectors.grant_units(request.user))
    form = GrantForm(request.POST, units=units)
    if not form.is_valid():
        for field, errors in form.errors.items():
            label = form.fields[field].label if field in form.fields else ""
            messages.error(request, f"{label}：{errors[0]}" if label else str(errors[0]))
        return redirect("person", pk=person.pk)
    role, unit = form.cleaned_data["role"], _unit(form.cleaned_data["unit"], units)
    try:
        services.grant_create(actor=request.user, user=person, role=role, unit=unit)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"已授予{person}：{unit.name}{Role(role).label}")
    return redirect("person", pk=person.pk)


@require(Action.GRANT_ROLES)
@require_POST
@sensitive_post_parameters("_reauth_password", "_reauth_otp")
@reauth_required()
def grant_withdraw(request: AuthedRequest, pk: int) -> HttpResponse:
    grant = (
        RoleGrant.objects.filter(user__in=selectors.people(request.user))
        .select_related("user", "unit")
        .filter(pk=pk)
        .first()
    )
    if grant is None:
        raise Http404("找不到这项角色，或它不在您的管理范围内")
    try:
        services.grant_withdraw(actor=request.user, grant=grant)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"已撤销{grant.user}：{grant.unit.name}{grant.get_role_display()}")
    if request.POST.get("next") == "roles":
        return redirect("roles")
    return redirect("person", pk=grant.user_id)


@require(Action.GRANT_ROLES)
def roles_page(request: AuthedRequest) -> HttpResponse:
    """Who holds which role where, role by role, and who has no role yet."""
    user = request.user
    people = list(selectors.people(user))
    security = selectors.security_grants()
    by_role: dict[str, list[tuple[RoleGrant, bool]]] = {role: [] for role in Role.values}
    for person in people:
        for grant in person.grants.all():
            grant.user = person
            by_role[grant.role].append((grant, selectors.may_withdraw(user, grant, security)))
    for rows in by_role.values():
        rows.sort(key=lambda pair: (pair[0].unit.path, pair[0].user.username))
    return render(
        request,
        "accounts/roles.html",
        {
            "roles": [(Role(role), rows) for role, rows in by_role.items()],
            "without": [p for p in people if not p.grants.all() and p.is_active],
            "grant_note": _grant_note(user) if not selectors.grant_units(user).exists() else "",
        },
    )


# --- the security policy (security admin) ------------------------------------------------------------------


def _policy_number(raw: str, rule: policy.Rule) -> int | None:
    text = raw.strip()
    if not text:
        return None
    if not (text.isascii() and text.isdigit() and len(text) <= 5):
        raise ServiceError(
            f"“{rule.label}”要填整数（{rule.low}–{rule.high} {rule.unit}），或留空按服务器设置"
        )
    return int(text)


@require(Action.SET_POLICY)
@require_http_methods(["GET", "POST"])
@sensitive_post_parameters("_reauth_password", "_reauth_otp")
@reauth_required()
def security_policy(request: AuthedRequest) -> HttpResponse:
    """安全策略: the security admin sets the password, lockout, session and second-factor rules; a field
    left empty follows the server's setting (shown beside it)."""
    row = policy.stored()
    errors: dict[str, str] = {}
    typed: dict[str, str] = {}
    if request.method == "POST":
        try:
            if request.POST.get("reset"):
                values: dict[str, int | None] = dict.fromkeys(policy.RULES_BY_NAME)
                roles: list[str] | None = None
            else:
                typed = {rule.name: request.POST.get(rule.name, "")[:8] for rule in policy.RULES}
                values = {}
                for rule in policy.RULES:
                    try:
                        values[rule.name] = _policy_number(typed[rule.name], rule)
                    except ServiceError as exc:
                        errors[rule.name] = exc.message
                if errors:
                    raise ServiceError("；".join(errors.values()))
                roles = [r for r in request.POST.getlist("otp_required_roles") if r in Role.values]
                roles = sorted(set(roles) | services.OTP_ALWAYS, key=Role.values.index)
            services.policy_update(actor=request.user, values=values, otp_roles=roles)
        except ServiceError as exc:
            if exc.field:
                errors[exc.field] = exc.message
            messages.error(request, f"{exc.message}，未做任何改动")
        else:
            messages.success(request, "安全策略已保存，下一次请求起生效")
            return redirect("security_policy")
    current, defaults = policy.current(), policy.from_settings()
    rows = []
    for rule in policy.RULES:
        stored = getattr(row, rule.name) if row is not None else None
        rows.append(
            {
                "rule": rule,
                "value": typed.get(rule.name, "" if stored is None else str(stored)),
                "default": getattr(defaults, rule.name),
                "current": getattr(current, rule.name),
                "error": errors.get(rule.name, ""),
            }
        )
    roles_now = set(current.otp_required_roles)
    role_rows = [
        {"value": r, "label": Role(r).label, "checked": r in roles_now, "always": r in services.OTP_ALWAYS}
        for r in Role.values
    ]
    return render(
        request,
        "accounts/security_policy.html",
        {
            "rows": rows,
            "role_rows": role_rows,
            "roles_error": errors.get("otp_required_roles", ""),
            "roles_follow": row is None or row.otp_required_roles is None,
            "updated_at": row.updated_at if row is not None else None,
            "demo": settings.DEMO,
        },
    )
