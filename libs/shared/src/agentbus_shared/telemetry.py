"""OpenTelemetry: tracing set up once per process, W3C context carried in NATS headers.

Without ``OTEL_EXPORTER_OTLP_ENDPOINT`` no SDK provider is installed: spans are
non-recording and nearly free, yet an incoming ``traceparent`` is still passed
on, so a trace started upstream stays whole. With an endpoint, spans are
sampled parent-based with ``OTEL_TRACES_SAMPLER_ARG`` as the root ratio and
exported over OTLP/HTTP in batches.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping

from opentelemetry import context, propagate, trace
from opentelemetry.trace import Tracer

_configured = False


def setup_tracing(service: str, *, endpoint: str | None, sample_ratio: float) -> bool:
    """Install an exporting tracer provider when an endpoint is configured. Returns whether it did."""
    global _configured  # noqa: PLW0603 - one provider per process, set once
    if _configured or not endpoint:
        return False
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    provider = TracerProvider(
        resource=Resource.create({"service.name": f"agentbus-{service}"}),
        sampler=ParentBased(TraceIdRatioBased(sample_ratio)),
    )
    provider.add_span_processor(
        BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint.rstrip("/") + "/v1/traces"))
    )
    trace.set_tracer_provider(provider)
    _configured = True
    return True


def tracer() -> Tracer:
    return trace.get_tracer("agentbus")


def inject_trace_headers(headers: MutableMapping[str, str]) -> MutableMapping[str, str]:
    """Write ``traceparent``/``tracestate`` of the current context into outgoing headers."""
    propagate.inject(headers)
    return headers


def extract_trace_context(headers: Mapping[str, str] | None) -> context.Context:
    """The context an incoming message's headers carry (empty context when none)."""
    return propagate.extract(dict(headers or {}))
