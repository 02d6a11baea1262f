"""The error catalogue: every stable reason Bourse sends, declared once with its transport-neutral kind, whether
another model or replica may succeed (retryable), its HTTP status and what it means.

The gRPC status of a reason is its kind's (`Kind` names are gRPC code names); `shared.grpc_errors` and the
gateway's `core/http_errors.py` derive their mappings from this table, and docs/errors.md is generated from it
(`python scripts/gen_error_docs.py`). Raise a `shared.errors` class with `reason=Reason.X`; never a string.
"""

from __future__ import annotations

from enum import Enum, StrEnum


class Kind(Enum):
    """Transport-neutral error class; each maps to exactly one gRPC code (its name) and a default HTTP status."""

    INVALID_ARGUMENT = "invalid_argument"
    FAILED_PRECONDITION = "failed_precondition"
    NOT_FOUND = "not_found"
    UNAUTHENTICATED = "unauthenticated"
    PERMISSION_DENIED = "permission_denied"
    RESOURCE_EXHAUSTED = "resource_exhausted"
    UNAVAILABLE = "unavailable"
    DEADLINE_EXCEEDED = "deadline_exceeded"
    INTERNAL = "internal"
    CANCELLED = "cancelled"


class Group(StrEnum):
    """Who raises a reason; the sections of docs/errors.md."""

    REQUEST = "request"  # the caller's request is wrong
    ACCESS = "access"  # keys, permissions
    LIMITS = "limits"  # budgets, rate limits, full queues
    ROUTING = "routing"  # no model could answer
    UPSTREAM = "upstream"  # a provider failed (the adapter's taxonomy)
    SERVICE = "service"  # a Bourse service or its store is not ready or unreachable
    PRICING = "pricing"  # price updates and price files
    CACHE = "cache"  # why the cache tier did not serve (Route attempt reasons, never an error status)
    STATUS = "status"  # a plain gRPC status without Bourse details, or an internal fault


class Reason(StrEnum):
    """A stable reason (the ErrorInfo reason, and the HTTP error `code` in lower case)."""

    kind: Kind
    retryable: bool
    http_status: int
    group: Group
    description: str

    def __new__(  # noqa: PLR0917 - an enum member is declared as one positional tuple
        cls, value: str, kind: Kind, retryable: bool, http_status: int, group: Group, description: str
    ) -> Reason:
        member = str.__new__(cls, value)
        member._value_ = value
        member.kind = kind
        member.retryable = retryable
        member.http_status = http_status
        member.group = group
        member.description = description
        return member

    @property
    def grpc_status(self) -> str:
        """The gRPC status code name (grpc.StatusCode[...])."""
        return self.kind.name

    # fmt: off
    # The caller's request
    INVALID_REQUEST = ("INVALID_REQUEST", Kind.INVALID_ARGUMENT, False, 400, Group.REQUEST,
                       "The request is malformed; BadRequest field violations name each bad field.")
    INVALID_JSON = ("INVALID_JSON", Kind.INVALID_ARGUMENT, False, 400, Group.REQUEST,
                    "The HTTP body is not valid JSON.")
    INVALID_ENCODING = ("INVALID_ENCODING", Kind.INVALID_ARGUMENT, False, 400, Group.REQUEST,
                        "The body or a string in it is not valid UTF-8, or a gRPC message does not parse.")
    NESTING_TOO_DEEP = ("NESTING_TOO_DEEP", Kind.INVALID_ARGUMENT, False, 400, Group.REQUEST,
                        "JSON (the body, a tool's parameters, a response_format schema) nests deeper than the bounds "
                        "in shared/input_bounds.py allow.")
    INVALID_CONFIG = ("INVALID_CONFIG", Kind.INVALID_ARGUMENT, False, 400, Group.REQUEST,
                      "A configuration file or variable is invalid; the message names the field.")
    PAYLOAD_TOO_LARGE = ("PAYLOAD_TOO_LARGE", Kind.INVALID_ARGUMENT, False, 413, Group.REQUEST,
                         "The HTTP body is larger than the gateway's max_body_bytes.")
    UNSUPPORTED_MEDIA_TYPE = ("UNSUPPORTED_MEDIA_TYPE", Kind.INVALID_ARGUMENT, False, 415, Group.REQUEST,
                              "The HTTP body is not JSON.")
    METHOD_NOT_ALLOWED = ("METHOD_NOT_ALLOWED", Kind.INVALID_ARGUMENT, False, 405, Group.REQUEST,
                          "The HTTP method is not served on this path.")
    NOT_FOUND = ("NOT_FOUND", Kind.NOT_FOUND, False, 404, Group.REQUEST,
                 "A named thing (path, entry, model) does not exist.")
    MODEL_NOT_FOUND = ("MODEL_NOT_FOUND", Kind.NOT_FOUND, False, 404, Group.REQUEST,
                       "The model or alias named in the request is not in the router's catalogue.")
    PREVIOUS_RESPONSE_NOT_FOUND = ("PREVIOUS_RESPONSE_NOT_FOUND", Kind.NOT_FOUND, False, 404, Group.REQUEST,
                                   "previous_response_id names no stored response (unknown, expired or another"
                                   " tenant's).")
    CHAT_TEMPLATE_INVALID = ("CHAT_TEMPLATE_INVALID", Kind.FAILED_PRECONDITION, False, 400, Group.REQUEST,
                             "The local model's chat template cannot render this conversation.")
    EMBED_DISABLED = ("EMBED_DISABLED", Kind.FAILED_PRECONDITION, False, 400, Group.REQUEST,
                      "Embed is switched off on this local-inference instance (embed_model_dir=off).")
    GUIDANCE_UNSUPPORTED = ("GUIDANCE_UNSUPPORTED", Kind.FAILED_PRECONDITION, True, 400, Group.REQUEST,
                            "A valid output constraint (a pattern or JSON Schema feature; the message names it) beyond "
                            "what the local model's guided decoding supports; a larger model may serve it.")
    # Keys and permissions
    UNAUTHENTICATED = ("UNAUTHENTICATED", Kind.UNAUTHENTICATED, False, 401, Group.ACCESS,
                       "Missing or wrong credentials.")
    MISSING_API_KEY = ("MISSING_API_KEY", Kind.UNAUTHENTICATED, False, 401, Group.ACCESS,
                       "No API key was sent (Authorization: Bearer <key>).")
    INVALID_API_KEY = ("INVALID_API_KEY", Kind.UNAUTHENTICATED, False, 401, Group.ACCESS,
                       "The API key is unknown, revoked or malformed.")
    KEY_NOT_FOUND = ("KEY_NOT_FOUND", Kind.NOT_FOUND, False, 404, Group.ACCESS,
                     "No API key has this id (bourse keys).")
    PERMISSION_DENIED = ("PERMISSION_DENIED", Kind.PERMISSION_DENIED, False, 403, Group.ACCESS,
                         "The credentials are valid but not allowed to do this.")
    # Limits
    BUDGET_EXCEEDED = ("BUDGET_EXCEEDED", Kind.RESOURCE_EXHAUSTED, False, 429, Group.LIMITS,
                       "A spend or request-rate budget is used up; metadata limit names it, RetryInfo says when "
                       "its window rolls over.")
    QUEUE_FULL = ("QUEUE_FULL", Kind.RESOURCE_EXHAUSTED, True, 429, Group.LIMITS,
                  "A bounded queue (the local model's) is full; retry after RetryInfo's delay.")
    # Routing
    NO_QUALIFIED_MODEL = ("NO_QUALIFIED_MODEL", Kind.FAILED_PRECONDITION, False, 400, Group.ROUTING,
                          "Every model was removed by a constraint; metadata constraint names the last one.")
    NO_AVAILABLE_MODEL = ("NO_AVAILABLE_MODEL", Kind.UNAVAILABLE, True, 503, Group.ROUTING,
                          "Every qualified model is temporarily unavailable (circuit open or Retry-After in force).")
    INVALID_OUTPUT = ("INVALID_OUTPUT", Kind.FAILED_PRECONDITION, False, 400, Group.ROUTING,
                      "No model produced an answer that passed the request's output validation.")
    LOW_CONFIDENCE = ("LOW_CONFIDENCE", Kind.FAILED_PRECONDITION, True, 400, Group.ROUTING,
                      "Only in a Route attempt's error_reason: the local answer's confidence was below its task "
                      "kind's threshold (local_min_confidence), so the router escalated.")
    DEADLINE_EXCEEDED = ("DEADLINE_EXCEEDED", Kind.DEADLINE_EXCEEDED, True, 504, Group.ROUTING,
                         "The request's total deadline passed.")
    CANCELLED = ("CANCELLED", Kind.CANCELLED, False, 499, Group.ROUTING,
                 "The client went away; only ever seen in logs and telemetry.")
    # A provider failed (the adapter's taxonomy; retryable ones move the router to another model)
    RATE_LIMITED = ("RATE_LIMITED", Kind.RESOURCE_EXHAUSTED, True, 429, Group.UPSTREAM,
                    "The provider rate-limited us; RetryInfo carries its Retry-After.")
    OVERLOADED = ("OVERLOADED", Kind.UNAVAILABLE, True, 503, Group.UPSTREAM,
                  "The provider says it is overloaded.")
    CONTEXT_LENGTH_EXCEEDED = ("CONTEXT_LENGTH_EXCEEDED", Kind.INVALID_ARGUMENT, True, 400, Group.UPSTREAM,
                               "Prompt plus max_tokens exceed the model's context window; a larger model may "
                               "succeed.")
    CONTENT_FILTERED = ("CONTENT_FILTERED", Kind.FAILED_PRECONDITION, True, 400, Group.UPSTREAM,
                        "The provider's content filter blocked the prompt or the answer.")
    AUTHENTICATION = ("AUTHENTICATION", Kind.UNAUTHENTICATED, True, 502, Group.UPSTREAM,
                      "Our key for that provider is missing or bad (a server-side fault; other providers may "
                      "work).")
    PERMISSION = ("PERMISSION", Kind.PERMISSION_DENIED, True, 502, Group.UPSTREAM,
                  "Our account may not use that model, or its quota or balance is spent.")
    UNSUPPORTED_FIELD = ("UNSUPPORTED_FIELD", Kind.FAILED_PRECONDITION, True, 400, Group.UPSTREAM,
                         "This provider cannot honour a request field (metadata field); others may.")
    UPSTREAM_5XX = ("UPSTREAM_5XX", Kind.UNAVAILABLE, True, 502, Group.UPSTREAM,
                    "The provider answered with a server error.")
    CONNECT_TIMEOUT = ("CONNECT_TIMEOUT", Kind.UNAVAILABLE, True, 502, Group.UPSTREAM,
                       "Connecting to the provider timed out.")
    CONNECT_FAILED = ("CONNECT_FAILED", Kind.UNAVAILABLE, True, 502, Group.UPSTREAM,
                      "The provider could not be connected to.")
    READ_TIMEOUT = ("READ_TIMEOUT", Kind.DEADLINE_EXCEEDED, True, 504, Group.UPSTREAM,
                    "The provider stopped sending within its read timeout.")
    DEADLINE = ("DEADLINE", Kind.DEADLINE_EXCEEDED, True, 504, Group.UPSTREAM,
                "The call's deadline passed before the provider finished.")
    CONNECTION_DROPPED = ("CONNECTION_DROPPED", Kind.UNAVAILABLE, True, 502, Group.UPSTREAM,
                          "The connection closed before the answer was complete.")
    BAD_RESPONSE = ("BAD_RESPONSE", Kind.UNAVAILABLE, True, 502, Group.UPSTREAM,
                    "The provider's answer could not be understood.")
    UNKNOWN_PROVIDER = ("UNKNOWN_PROVIDER", Kind.NOT_FOUND, False, 404, Group.UPSTREAM,
                        "The adapter has no provider of that name.")
    UPSTREAM_ERROR = ("UPSTREAM_ERROR", Kind.UNAVAILABLE, True, 502, Group.UPSTREAM,
                      "Any other provider failure.")
    # A Bourse service or its store
    UPSTREAM_UNAVAILABLE = ("UPSTREAM_UNAVAILABLE", Kind.UNAVAILABLE, True, 503, Group.SERVICE,
                            "A Bourse service could not be reached (a plain UNAVAILABLE status).")
    NOT_READY = ("NOT_READY", Kind.UNAVAILABLE, True, 503, Group.SERVICE,
                 "The cache is still loading its encoder or store.")
    MODEL_LOADING = ("MODEL_LOADING", Kind.UNAVAILABLE, True, 503, Group.SERVICE,
                     "The local model is still loading.")
    MODEL_LOAD_FAILED = ("MODEL_LOAD_FAILED", Kind.UNAVAILABLE, True, 503, Group.SERVICE,
                         "The local model (or sentence encoder) failed to load; another replica may serve.")
    MODEL_DIRECTORY_INVALID = ("MODEL_DIRECTORY_INVALID", Kind.FAILED_PRECONDITION, False, 400, Group.SERVICE,
                               "A converted model directory is incomplete or from another version.")
    KEY_STORE_UNAVAILABLE = ("KEY_STORE_UNAVAILABLE", Kind.UNAVAILABLE, True, 503, Group.SERVICE,
                             "The API key store (NATS KV) is unreachable and the key was not seen before.")
    RESPONSE_STORE_UNAVAILABLE = ("RESPONSE_STORE_UNAVAILABLE", Kind.UNAVAILABLE, True, 503, Group.SERVICE,
                                  "The stored Responses conversations (NATS KV) are unreachable.")
    BUDGET_STORE_UNAVAILABLE = ("BUDGET_STORE_UNAVAILABLE", Kind.UNAVAILABLE, True, 503, Group.SERVICE,
                                "The shared budget counters could not be read or written in time.")
    BUDGET_STORE_CONTENDED = ("BUDGET_STORE_CONTENDED", Kind.UNAVAILABLE, True, 503, Group.SERVICE,
                              "The shared budget counters stayed contended past the retry deadline.")
    LEDGER_UNREACHABLE = ("LEDGER_UNREACHABLE", Kind.UNAVAILABLE, True, 503, Group.SERVICE,
                          "bourse report could not reach the ledger.")
    # Prices
    PRICE_UPDATE_MALFORMED = ("PRICE_UPDATE_MALFORMED", Kind.INVALID_ARGUMENT, False, 400, Group.PRICING,
                              "A price update is not a valid message of the pricing schema.")
    PRICE_UPDATE_UNKNOWN_MODEL = ("PRICE_UPDATE_UNKNOWN_MODEL", Kind.INVALID_ARGUMENT, False, 400, Group.PRICING,
                                  "A price update names a model the manifest does not list.")
    PRICE_UPDATE_STALE = ("PRICE_UPDATE_STALE", Kind.INVALID_ARGUMENT, False, 400, Group.PRICING,
                          "A price update is older than the prices already applied.")
    PRICE_UPDATE_IMPLAUSIBLE = ("PRICE_UPDATE_IMPLAUSIBLE", Kind.INVALID_ARGUMENT, False, 400, Group.PRICING,
                                "A price is out of range or jumps implausibly.")
    PRICE_UPDATE_WRONG_SUBJECT = ("PRICE_UPDATE_WRONG_SUBJECT", Kind.INVALID_ARGUMENT, False, 400, Group.PRICING,
                                  "A price update was published on another model's subject.")
    PRICE_FILE_INVALID = ("PRICE_FILE_INVALID", Kind.INVALID_ARGUMENT, False, 400, Group.PRICING,
                          "A price file (bourse pricing) cannot be read.")
    PRICE_FEED_INVALID = ("PRICE_FEED_INVALID", Kind.INVALID_ARGUMENT, False, 400, Group.PRICING,
                          "The polled /models price feed answered something unreadable.")
    # The cache tier (a cache miss's attempt reason: CACHE_ and the cache decision's reason in upper case)
    CACHE_MISS = ("CACHE_MISS", Kind.NOT_FOUND, False, 404, Group.CACHE,
                  "The cache did not serve and gave no reason this router knows (an exact-only lookup, or "
                  "a newer cache's reason).")
    CACHE_NO_ENTRIES = ("CACHE_NO_ENTRIES", Kind.NOT_FOUND, False, 404, Group.CACHE,
                        "Nothing is stored yet in the request's namespace.")
    CACHE_SEMANTIC_OFF = ("CACHE_SEMANTIC_OFF", Kind.NOT_FOUND, False, 404, Group.CACHE,
                          "Semantic matching is off for this namespace or tenant (semantic_mode off); only exact "
                          "hits serve.")
    CACHE_TOO_LONG = ("CACHE_TOO_LONG", Kind.NOT_FOUND, False, 404, Group.CACHE,
                      "The question is too long to compare semantically (max_semantic_chars or the encoder's "
                      "256 tokens).")
    CACHE_BELOW_THRESHOLD = ("CACHE_BELOW_THRESHOLD", Kind.NOT_FOUND, False, 404, Group.CACHE,
                             "No stored question is close enough in embedding space (below the similarity threshold).")
    CACHE_AMBIGUOUS = ("CACHE_AMBIGUOUS", Kind.NOT_FOUND, False, 404, Group.CACHE,
                       "Two different stored questions matched about equally well; neither is served.")
    CACHE_CLASSIFIER = ("CACHE_CLASSIFIER", Kind.NOT_FOUND, False, 404, Group.CACHE,
                        "The verifier's score for the best candidate is below the namespace's threshold.")
    CACHE_NUMBERS = ("CACHE_NUMBERS", Kind.NOT_FOUND, False, 404, Group.CACHE,
                     "The questions differ in a number or unit.")
    CACHE_EMAILS = ("CACHE_EMAILS", Kind.NOT_FOUND, False, 404, Group.CACHE,
                    "The questions name different e-mail addresses.")
    CACHE_IDENTIFIERS = ("CACHE_IDENTIFIERS", Kind.NOT_FOUND, False, 404, Group.CACHE,
                         "The questions name different identifiers (codes, versions, ids).")
    CACHE_NEGATION = ("CACHE_NEGATION", Kind.NOT_FOUND, False, 404, Group.CACHE,
                      "One question is negated and the other is not.")
    CACHE_NAMES = ("CACHE_NAMES", Kind.NOT_FOUND, False, 404, Group.CACHE,
                   "The questions name different people, places or products.")
    CACHE_QUOTED = ("CACHE_QUOTED", Kind.NOT_FOUND, False, 404, Group.CACHE,
                    "The questions quote different values.")
    CACHE_OPERAND_ORDER = ("CACHE_OPERAND_ORDER", Kind.NOT_FOUND, False, 404, Group.CACHE,
                           "The same numbers appear in another order ('15% of 80' / '80% of 15').")
    CACHE_NAME_ORDER = ("CACHE_NAME_ORDER", Kind.NOT_FOUND, False, 404, Group.CACHE,
                        "The same names appear in another order ('from Paris to London' / the reverse).")
    CACHE_REVERSED_RELATION = ("CACHE_REVERSED_RELATION", Kind.NOT_FOUND, False, 404, Group.CACHE,
                               "A relation between the same things is reversed ('A beats B' / 'B beats A').")
    CACHE_EXCHANGED_WORD = ("CACHE_EXCHANGED_WORD", Kind.NOT_FOUND, False, 404, Group.CACHE,
                            "A content word was exchanged in place for another ('faster' / 'slower').")
    CACHE_REORDERED = ("CACHE_REORDERED", Kind.NOT_FOUND, False, 404, Group.CACHE,
                       "The same words are in an order that changes what is asked.")
    CACHE_REWORDED = ("CACHE_REWORDED", Kind.NOT_FOUND, False, 404, Group.CACHE,
                      "Strict mode: the questions are worded unevenly enough that they may ask different things.")
    CACHE_STORED_MORE_SPECIFIC = ("CACHE_STORED_MORE_SPECIFIC", Kind.NOT_FOUND, False, 404, Group.CACHE,
                                  "Strict mode: the stored question says more than the query, so its answer is "
                                  "narrower.")
    # Plain statuses and faults
    INVALID_ARGUMENT = ("INVALID_ARGUMENT", Kind.INVALID_ARGUMENT, False, 400, Group.STATUS,
                        "A plain INVALID_ARGUMENT status without Bourse details.")
    FAILED_PRECONDITION = ("FAILED_PRECONDITION", Kind.FAILED_PRECONDITION, False, 400, Group.STATUS,
                           "A plain FAILED_PRECONDITION status without Bourse details.")
    RESOURCE_EXHAUSTED = ("RESOURCE_EXHAUSTED", Kind.RESOURCE_EXHAUSTED, False, 429, Group.STATUS,
                          "A plain RESOURCE_EXHAUSTED status without Bourse details.")
    INTERNAL = ("INTERNAL", Kind.INTERNAL, False, 500, Group.STATUS,
                "A bug or an unexpected state: never the client's fault.")
    # fmt: on


_BY_VALUE: dict[str, Reason] = {reason.value: reason for reason in Reason}


def reason_of(value: str) -> Reason | None:
    """The catalogue entry of a reason received as text (None for a reason from outside Bourse)."""
    return _BY_VALUE.get(value)


# The reason a status without Bourse details stands for (a server or proxy that is not Bourse's, a lost link).
PLAIN_STATUS_REASON: dict[Kind, Reason] = {
    Kind.INVALID_ARGUMENT: Reason.INVALID_ARGUMENT,
    Kind.FAILED_PRECONDITION: Reason.FAILED_PRECONDITION,
    Kind.NOT_FOUND: Reason.NOT_FOUND,
    Kind.UNAUTHENTICATED: Reason.UNAUTHENTICATED,
    Kind.PERMISSION_DENIED: Reason.PERMISSION_DENIED,
    Kind.RESOURCE_EXHAUSTED: Reason.RESOURCE_EXHAUSTED,
    Kind.UNAVAILABLE: Reason.UPSTREAM_UNAVAILABLE,
    Kind.DEADLINE_EXCEEDED: Reason.DEADLINE,
    Kind.INTERNAL: Reason.INTERNAL,
    Kind.CANCELLED: Reason.CANCELLED,
}

# The reasons of a provider failure (the adapter's taxonomy): a provider may also reject the request itself.
UPSTREAM_REASONS: frozenset[Reason] = frozenset(
    {*(r for r in Reason if r.group is Group.UPSTREAM), Reason.INVALID_REQUEST}
)
