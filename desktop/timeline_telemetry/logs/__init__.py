"""Logs for an ELK stack or an OpenTelemetry Collector (``telemetry.logs``): ECS JSON lines in
``<log dir>/timeline-telemetry.ecs.json`` and OTLP/HTTP log export. See ``docs/logs.md``."""

from __future__ import annotations

from .build import AGENT_SERVICE_NAME, AgentLogs
from .ecs import CUSTOM_NAMESPACE, ECS_FILE_NAME, EcsFormatter, EcsLogFile
from .tail import EditorLogTailer

__all__ = [
    "AGENT_SERVICE_NAME",
    "CUSTOM_NAMESPACE",
    "ECS_FILE_NAME",
    "AgentLogs",
    "EcsFormatter",
    "EcsLogFile",
    "EditorLogTailer",
]
