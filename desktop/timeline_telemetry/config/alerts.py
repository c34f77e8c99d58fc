"""Parsing ``telemetry.alerts`` (see ``AlertsConfig`` in ``schema.py``).

Actions are externally tagged like exporters: ``[{"Email": {...}}, {"Webhook": {...}},
{"PagerDuty": {...}}, {"Alertmanager": {...}}]``; their ``name`` (default: the kind in lower
case) is what ``rules[].actions`` refers to, together with ``desktop``. Secrets
(``password``, ``routing_key``, a webhook ``url``) may be ``keyring:``/``env:`` references.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from ._reader import Bad, Context, ObjectReader, check_secret_ref, show
from .schema import (
    AlertActionConfig,
    AlertmanagerActionConfig,
    AlertRuleOptions,
    AlertsConfig,
    EmailActionConfig,
    FlapConfig,
    FrozenMap,
    PagerDutyActionConfig,
    RenderSilenceConfig,
    StormConfig,
    WebhookActionConfig,
    json_keys,
)

__all__ = ["parse_alerts"]

_SECURITY = ("starttls", "tls", "none")
_FORMATS = ("slack", "generic")
_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")

_log = logging.getLogger(__name__)


def _choice(options: tuple[str, ...]) -> Callable[[object], str | Bad]:
    def check(value: object) -> str | Bad:
        if isinstance(value, str) and value in options:
            return value
        return Bad(f"expected one of {', '.join(options)}, got {show(value)}")

    return check


def _url(value: object) -> str | Bad:
    if isinstance(value, str) and (
        value.startswith(("http://", "https://", "keyring:", "env:"))
    ):
        return value
    return Bad(f"expected an http(s) URL or a keyring:/env: reference, got {show(value)}")


def _secret(r: ObjectReader, key: str, default: str) -> str:
    value = r.get_str(key, default)
    if value:
        check_secret_ref(r.ctx, r.path(key), value)
    return value


def _group_by(r: ObjectReader, default: tuple[str, ...] | None) -> tuple[str, ...] | None:
    """Alertmanager's ``group_by``: label names, or ``["..."]`` alone (every label)."""
    if not r.has("group_by") or r.data["group_by"] is None:
        return default
    names = r.str_list("group_by", ())
    for i, name in enumerate(names):
        if name == "..." and len(names) > 1:
            r.ctx.problem(f"{r.path('group_by')}[{i}]",
                          '"..." (group by every label) must be the only entry')
        elif name != "..." and not _LABEL.fullmatch(name):
            r.ctx.problem(f"{r.path('group_by')}[{i}]", f"not a label name: {show(name)}")
    return names


def _email(r: ObjectReader) -> EmailActionConfig:
    d = EmailActionConfig()
    r.require("recipients", "a list of e-mail addresses")
    return EmailActionConfig(
        host=r.get_str("host", d.host, nonempty=True),
        port=r.get_int("port", d.port, minimum=1, maximum=65535),
        security=r.get("security", d.security, _choice(_SECURITY)),
        username=r.get_str("username", d.username),
        password=_secret(r, "password", d.password),
        sender=r.get_str("sender", d.sender, nonempty=True),
        recipients=r.str_list("recipients", d.recipients),
        subject=r.get_str("subject", d.subject),
        name=r.get_str("name", d.name, nonempty=True),
        repeat_interval=r.get_duration("repeat_interval", d.repeat_interval, allow_zero=True),
        group_by=_group_by(r, d.group_by),
    )


def _payload(ctx: Context, path: str, data: object) -> FrozenMap:
    if not isinstance(data, dict):
        ctx.problem(path, f"expected an object of strings, got {show(data)}")
        return FrozenMap()
    out = {}
    for k, v in data.items():
        if isinstance(v, str):
            out[k] = v
        else:
            ctx.problem(f"{path}.{k}", f"expected a string, got {show(v)}")
    return FrozenMap(out)


def _webhook(r: ObjectReader) -> WebhookActionConfig:
    d = WebhookActionConfig()
    r.require("url", "an http(s) URL or a keyring:/env: reference")
    url = r.get("url", d.url, _url)
    if url:
        check_secret_ref(r.ctx, r.path("url"), url)
    return WebhookActionConfig(
        url=url,
        format=r.get("format", d.format, _choice(_FORMATS)),
        payload=r.section("payload", _payload, d.payload),
        name=r.get_str("name", d.name, nonempty=True),
        repeat_interval=r.get_duration("repeat_interval", d.repeat_interval, allow_zero=True),
        group_by=_group_by(r, d.group_by),
    )


def _pagerduty(r: ObjectReader) -> PagerDutyActionConfig:
    d = PagerDutyActionConfig()
    routing_key = _service_key(r)
    if routing_key is None:
        r.require("routing_key", 'a reference such as "keyring:pagerduty"')
        routing_key = _secret(r, "routing_key", d.routing_key)
    return PagerDutyActionConfig(
        routing_key=routing_key,
        description=r.get_str("description", d.description),
        url=r.get("url", d.url, _url),
        name=r.get_str("name", d.name, nonempty=True),
        repeat_interval=r.get_duration("repeat_interval", d.repeat_interval, allow_zero=True),
        group_by=_group_by(r, d.group_by),
    )


#: The design document's spelling (PagerDuty's Events API v1 name for the integration key).
SERVICE_KEY = "service_key"


def _service_key(r: ObjectReader) -> str | None:
    """``service_key`` as the design document writes it: the same integration key that the
    Events API v2 calls ``routing_key``, so it is taken as that, with a note in the log."""
    if SERVICE_KEY not in r.data:
        return None
    if r.has("routing_key"):
        r.ctx.problem(r.path(SERVICE_KEY), "give routing_key or service_key, not both "
                                           "(service_key is the older name of routing_key)")
        return None
    value = r.get_str(SERVICE_KEY, "", nonempty=True)
    if value:
        check_secret_ref(r.ctx, r.path(SERVICE_KEY), value)
        _log.info("%s: service_key is PagerDuty's Events API v1 name; it is used as the "
                  "Events API v2 routing_key", r.base)
    return value


def _alertmanager(r: ObjectReader) -> AlertmanagerActionConfig:
    d = AlertmanagerActionConfig()
    return AlertmanagerActionConfig(
        url=r.get("url", d.url, _url), name=r.get_str("name", d.name, nonempty=True)
    )


_KINDS: dict[str, tuple[type, Callable[[ObjectReader], AlertActionConfig]]] = {
    "Email": (EmailActionConfig, _email),
    "Webhook": (WebhookActionConfig, _webhook),
    "PagerDuty": (PagerDutyActionConfig, _pagerduty),
    "Alertmanager": (AlertmanagerActionConfig, _alertmanager),
}


def _actions(ctx: Context, path: str, data: object) -> tuple[AlertActionConfig, ...]:
    if not isinstance(data, list):
        ctx.problem(path, f'expected a list such as [{{"Webhook": {{"url": ...}}}}], '
                          f"got {show(data)}")
        return ()
    out: list[AlertActionConfig] = []
    names: set[str] = {"desktop"}
    for i, item in enumerate(data):
        where = f"{path}[{i}]"
        if not isinstance(item, dict) or len(item) != 1:
            ctx.problem(where, f"expected one object with one key ({', '.join(_KINDS)})")
            continue
        ((kind, body),) = item.items()
        if kind not in _KINDS:
            ctx.problem(where, f"unknown action {kind!r} (accepted: {', '.join(_KINDS)})")
            continue
        cls, parse = _KINDS[kind]
        accepted = (*json_keys(cls), SERVICE_KEY) if cls is PagerDutyActionConfig \
            else json_keys(cls)
        action = parse(ObjectReader(ctx, f"{where}.{kind}", body, accepted))
        if action.name in names:
            ctx.problem(f"{where}.{kind}.name", f"{action.name!r} is already used; "
                                                "give each action its own name")
        names.add(action.name)
        out.append(action)
    return tuple(out)


def _rule(ctx: Context, path: str, data: object) -> AlertRuleOptions:
    r = ObjectReader(ctx, path, data, json_keys(AlertRuleOptions))
    d = AlertRuleOptions()
    r.require("alert", "the alert name")
    actions = r.str_list("actions", ()) if r.has("actions") and r.data["actions"] is not None \
        else None
    cond = r.get_str("resolve_condition", "") if r.data.get("resolve_condition") else None
    if cond is not None:
        from timeline_telemetry.promql.syntax import PromQLError, check_supported, parse

        try:
            check_supported(parse(cond))
        except PromQLError as exc:
            ctx.problem(r.path("resolve_condition"), str(exc))
    return AlertRuleOptions(
        alert=r.get_str("alert", d.alert, nonempty=True),
        cooldown=r.get_duration("cooldown", d.cooldown, allow_zero=True),
        actions=actions,
        resolve_condition=cond,
    )


def _rules(ctx: Context, path: str, data: object) -> tuple[AlertRuleOptions, ...]:
    if not isinstance(data, list):
        ctx.problem(path, f"expected a list of objects, got {show(data)}")
        return ()
    return tuple(_rule(ctx, f"{path}[{i}]", item) for i, item in enumerate(data))


def _flap(ctx: Context, path: str, data: object) -> FlapConfig:
    r = ObjectReader(ctx, path, data, json_keys(FlapConfig))
    d = FlapConfig()
    return FlapConfig(max_changes=r.get_int("max_changes", d.max_changes, minimum=0),
                      window=r.get_duration("window", d.window))


def _storm(ctx: Context, path: str, data: object) -> StormConfig:
    r = ObjectReader(ctx, path, data, json_keys(StormConfig))
    d = StormConfig()
    return StormConfig(per_rule=r.get_int("per_rule", d.per_rule, minimum=1),
                       max_per_eval=r.get_int("max_per_eval", d.max_per_eval, minimum=1))


def _render(ctx: Context, path: str, data: object) -> RenderSilenceConfig:
    r = ObjectReader(ctx, path, data, json_keys(RenderSilenceConfig))
    d = RenderSilenceConfig()
    return RenderSilenceConfig(
        enabled=r.get_bool("enabled", d.enabled),
        condition=r.get_str("condition", d.condition, nonempty=True),
        alerts=r.str_list("alerts", d.alerts),
    )


def _rule_files(ctx: Context, path: str, data: object) -> tuple:  # type: ignore[type-arg]
    if data is None:
        return None  # type: ignore[return-value]
    if not isinstance(data, list):
        ctx.problem(path, f"expected a list of file paths or null, got {show(data)}")
        return None  # type: ignore[return-value]
    out = []
    for i, item in enumerate(data):
        if isinstance(item, str) and item.strip():
            out.append(ctx.resolve_path(item))
        else:
            ctx.problem(f"{path}[{i}]", f"expected a file path string, got {show(item)}")
    return tuple(out)


def parse_alerts(ctx: Context, path: str, data: object) -> AlertsConfig:
    """``telemetry.alerts``."""
    r = ObjectReader(ctx, path, data, json_keys(AlertsConfig))
    d = AlertsConfig()
    cfg = AlertsConfig(
        enabled=r.get_bool("enabled", d.enabled),
        rule_files=r.section("rule_files", _rule_files, d.rule_files),
        evaluation_interval=r.get_duration("evaluation_interval", d.evaluation_interval),
        resend_delay=r.get_duration("resend_delay", d.resend_delay),
        history_path=r.path_or_none("history_path", d.history_path),
        desktop_notifications=r.get_bool("desktop_notifications", d.desktop_notifications),
        desktop_repeat_interval=r.get_duration("desktop_repeat_interval",
                                               d.desktop_repeat_interval, allow_zero=True),
        actions=r.section("actions", _actions, d.actions),
        rules=r.section("rules", _rules, d.rules),
        default_silence_duration=r.get_duration("default_silence_duration",
                                                d.default_silence_duration),
        flap=r.section("flap", _flap, d.flap),
        storm=r.section("storm", _storm, d.storm),
        render_silence=r.section("render_silence", _render, d.render_silence),
    )
    _check_rule_actions(ctx, path, cfg)
    return cfg


def _check_rule_actions(ctx: Context, path: str, cfg: AlertsConfig) -> None:
    """A rule naming an action that does not exist would never notify anyone: say so."""
    known = ["desktop"] if cfg.desktop_notifications else []
    known += [a.name for a in cfg.actions]
    for i, rule in enumerate(cfg.rules):
        for j, name in enumerate(rule.actions or ()):
            if name not in known:
                ctx.problem(f"{path}.rules[{i}].actions[{j}]",
                            f"no action is named {name!r} (configured: "
                            f"{', '.join(map(repr, known)) or 'none'})")
