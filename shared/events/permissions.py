"""Who may publish and subscribe to what on NATS: the one permission matrix, as data.

Each role is a NATS user. Its grants name event subjects, JetStream streams and KV buckets; `allow_lists`
expands them into the exact subjects nats-server checks, JetStream API included: reading a stream needs the
consumer API of that stream only (reading through a consumer is reading), writing a KV bucket is publishing on
`$KV.<bucket>.>`. Everything not granted is refused by the server. Each user gets its own inbox prefix
(`_INBOX_<user>`), so no user can subscribe to another user's replies or consumer deliveries.

docs/nats-permissions.md holds the rendered matrix (`bourse nats matrix`); tests keep the two equal.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from shared.events import subjects

# Streams and buckets, by name (their owners create them; see shared/events/streams.py and the services).
TELEMETRY = "BOURSE_TELEMETRY"
PRICING = "BOURSE_PRICING"
COST = "BOURSE_COST"
FEEDBACK = "BOURSE_FEEDBACK"
CACHE = "BOURSE_CACHE"
QUALITY = "BOURSE_QUALITY"
DEAD_LETTER = "BOURSE_DEAD_LETTER"
KEYS_BUCKET = "BOURSE_API_KEYS"
USAGE_BUCKET = "BOURSE_KEY_USAGE"
RESPONSES_BUCKET = "BOURSE_RESPONSES"
BUDGET_BUCKET = "bourse_budgets"

QUALITY_PREFIX = "bourse.quality"
# Created by routers and the ledger at start-up (shared/events/streams.py ALL).
CORE_STREAMS = (TELEMETRY, PRICING, COST, FEEDBACK, DEAD_LETTER)
TENANT_PREFIX = "tenant-"


@dataclass(frozen=True)
class Role:
    """What one NATS user may do. Subjects are NATS subjects; streams and buckets are names."""

    name: str
    who: str  # the process that holds the credential
    publish: tuple[str, ...] = ()  # event subjects (JetStream publishes included)
    subscribe: tuple[str, ...] = ()  # core NATS subscriptions (live, no history)
    read_streams: tuple[str, ...] = ()  # JetStream consumers on these streams
    manage_streams: tuple[str, ...] = ()  # create / update / info (idempotent start-up)
    read_buckets: tuple[str, ...] = ()  # read, watch, and create empty when missing
    write_buckets: tuple[str, ...] = ()  # read, watch, create and write


def _dead_letters(*sources: str) -> tuple[str, ...]:
    """Dead letters of events of these kinds (`bourse.deadletter.<kind>`, shared/events/dead_letters.py)."""
    return tuple(subjects.dead_letter(source) for source in sources)


ROLES: tuple[Role, ...] = (
    Role(
        "router",
        "every router replica",
        publish=(
            f"{subjects.TELEMETRY_PREFIX}.>",
            f"{subjects.COST_PREFIX}.>",
            f"{subjects.BUDGET_ALERT_PREFIX}.>",
            f"{subjects.CIRCUIT_PREFIX}.>",
            f"{QUALITY_PREFIX}.>",
            *_dead_letters("telemetry", "cost", "alerts", "quality"),
        ),
        subscribe=(f"{subjects.CIRCUIT_PREFIX}.>", f"{subjects.CACHE_PREFIX}.bad_hit.>"),
        read_streams=(TELEMETRY, PRICING, FEEDBACK, QUALITY),
        manage_streams=(*CORE_STREAMS, QUALITY),
        read_buckets=(KEYS_BUCKET,),  # callers of Route present virtual keys (checked against hashed records)
        write_buckets=(BUDGET_BUCKET, USAGE_BUCKET),
    ),
    Role(
        "gateway",
        "every gateway replica",
        read_buckets=(KEYS_BUCKET,),
        write_buckets=(RESPONSES_BUCKET, USAGE_BUCKET),
    ),
    Role(
        "ledger",
        "the ledger",
        publish=_dead_letters("telemetry", "feedback"),  # consumed events it can never store
        read_streams=(TELEMETRY, FEEDBACK),
        manage_streams=CORE_STREAMS,
        read_buckets=(KEYS_BUCKET,),  # report callers present virtual keys
    ),
    Role(
        "cache",
        "every cache replica",
        publish=(f"{subjects.CACHE_PREFIX}.>", *_dead_letters("cache")),
        read_streams=(CACHE,),
        manage_streams=(CACHE,),
    ),
    Role(
        "pricing",
        "the pricing publisher: `bourse pricing`, or an operator",
        publish=(f"{subjects.PRICING_PREFIX}.>",),
        manage_streams=(PRICING,),
    ),
    Role("keys", "the key admin: `bourse keys`", write_buckets=(KEYS_BUCKET,)),
    Role(
        "cost-reader",
        "dashboards and billing exports",
        subscribe=(f"{subjects.COST_PREFIX}.>", f"{subjects.BUDGET_ALERT_PREFIX}.>"),
        read_streams=(COST,),
    ),
    Role("ops", "an operator reading dead letters", read_streams=(DEAD_LETTER,)),
)


def tenant_role(tenant: str) -> Role:
    """A tenant's own credential: its live cost events and budget alerts, and feedback on its own requests.

    No JetStream consumer: nats-py creates consumers on a subject that does not carry the filter, so a consumer
    grant would let the tenant read every tenant's history. The tenant name is escaped into one subject token
    (`*` and `>` become `%2A`, `%3E`), so a wildcard tenant name grants exactly one literal subject.
    """
    return Role(
        f"{TENANT_PREFIX}{subjects.token(tenant)}",
        f"tenant `{tenant}`",
        publish=(subjects.feedback(tenant),),
        subscribe=(subjects.cost(tenant), subjects.budget_alert(tenant)),
    )


def role(name: str, tenants: Iterable[str] = ()) -> Role:
    for candidate in (*ROLES, *(tenant_role(t) for t in tenants)):
        if candidate.name == name:
            return candidate
    raise KeyError(name)


def inbox_prefix(user: str) -> str:
    """The reply-subject prefix a user's client must use (nats-py `inbox_prefix`); only that user reads it."""
    return f"_INBOX_{user}"


def _js(suffix: str) -> str:
    return f"$JS.API.{suffix}"


def _stream_read(stream: str) -> tuple[list[str], list[str]]:
    """(publish, subscribe) subjects that let a client create, follow and acknowledge consumers of `stream`."""
    publish = [
        _js(f"STREAM.INFO.{stream}"),
        _js(f"CONSUMER.CREATE.{stream}"),
        _js(f"CONSUMER.CREATE.{stream}.>"),
        _js(f"CONSUMER.DURABLE.CREATE.{stream}.>"),
        _js(f"CONSUMER.INFO.{stream}.>"),
        _js(f"CONSUMER.DELETE.{stream}.>"),
        _js(f"CONSUMER.MSG.NEXT.{stream}.>"),
        f"$JS.ACK.{stream}.>",
        f"$JS.FC.{stream}.>",
    ]
    return publish, []


def _stream_manage(stream: str) -> list[str]:
    return [_js(f"STREAM.INFO.{stream}"), _js(f"STREAM.CREATE.{stream}"), _js(f"STREAM.UPDATE.{stream}")]


def _bucket_read(bucket: str) -> list[str]:
    """Read and watch a bucket, and create it empty when missing (a reader may start first; it writes nothing)."""
    stream = f"KV_{bucket}"
    publish, _ = _stream_read(stream)
    return [
        *publish,
        _js(f"DIRECT.GET.{stream}"),
        _js(f"DIRECT.GET.{stream}.>"),
        _js(f"STREAM.MSG.GET.{stream}"),
        _js(f"STREAM.CREATE.{stream}"),
    ]


def _bucket_write(bucket: str) -> list[str]:
    return [*_bucket_read(bucket), f"$KV.{bucket}.>"]


def allow_lists(grant: Role) -> tuple[list[str], list[str]]:
    """The (publish, subscribe) allow lists nats-server enforces for `grant`, without duplicates, in order."""
    publish: list[str] = list(grant.publish)
    subscribe: list[str] = [*grant.subscribe, f"{inbox_prefix(grant.name)}.>"]
    # Account limits and stream lookup by subject (nats-py's subscribe) reveal names, never messages.
    publish += [_js("INFO"), _js("STREAM.NAMES")]
    for stream in grant.read_streams:
        publish += _stream_read(stream)[0]
    for stream in grant.manage_streams:
        publish += _stream_manage(stream)
    for bucket in grant.read_buckets:
        publish += _bucket_read(bucket)
    for bucket in grant.write_buckets:
        publish += _bucket_write(bucket)
    return list(dict.fromkeys(publish)), list(dict.fromkeys(subscribe))


def matrix_markdown(roles: Iterable[Role] = ROLES) -> str:
    """The matrix as a Markdown table (docs/nats-permissions.md), one row per user."""

    def cell(items: Iterable[str]) -> str:
        return "<br>".join(f"`{item}`" for item in items) or "-"

    rows = [
        "| user | held by | publishes | subscribes (live) | reads streams | manages streams | reads KV | writes KV |",
        "|---|---|---|---|---|---|---|---|",
    ]
    rows += [
        f"| `{grant.name}` | {grant.who} | {cell(grant.publish)} | {cell(grant.subscribe)} | "
        f"{cell(grant.read_streams)} | {cell(grant.manage_streams)} | {cell(grant.read_buckets)} | "
        f"{cell(grant.write_buckets)} |"
        for grant in (*roles, tenant_role("<tenant>"))
    ]
    return "\n".join(rows) + "\n"
