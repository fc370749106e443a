"""Idempotent consumers: `(consumer, event_id)` is recorded in the same transaction as the handler's effects,
offsets are committed after the database commit, and an event that keeps failing goes to `<topic>.dlq`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from opentelemetry.trace import Link, SpanKind, get_current_span
from pydantic import ValidationError
from sqlalchemy import String, Table, bindparam, func, insert, literal, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from contracts import DLQ_SUFFIX, Event
from contracts.cloudevents import Envelope
from kit.db import Database, database_unavailable
from kit.logging import correlation_id
from kit.messaging.kafka import start_with_retry
from kit.metrics import CONSUMER_LAG, DLQ_MESSAGES, EVENTS_CONSUMED
from kit.settings import KitSettings
from kit.tracing import extract, tracer, tracing_enabled

log = logging.getLogger("kit.consumer")

_NEVER = datetime.max.replace(tzinfo=UTC)

E = TypeVar("E", bound=Event)


@dataclass
class EventContext:
    """What a handler gets besides the event: the transaction its effects join, and the app's state."""

    session: AsyncSession
    envelope: Envelope
    state: Any


@dataclass
class EventsContext:
    """What a handler of several events gets: the transaction their effects join, their envelopes (in the
    order of the events) and the app's state."""

    session: AsyncSession
    envelopes: list[Envelope]
    state: Any


Handler = Callable[[Any, EventContext], Awaitable[None]]
ManyHandler = Callable[[list[Any], EventsContext], Awaitable[None]]


class PoisonEvent(Exception):
    """The message can never be processed (not a CloudEvent, unknown schema): no retries."""


@dataclass
class Subscription(Generic[E]):
    """The handler of one event type. `many`, when given, handles consecutive events of the type in one call
    (set-based statements instead of a few per event); it must leave the same effects as `handler` run on
    each event in turn. The consumer uses it for every run of that type within a batch (a run of one too)."""

    event: type[E]
    handler: Callable[[E, EventContext], Awaitable[None]]
    many: Callable[[list[E], EventsContext], Awaitable[None]] | None = None


@dataclass(frozen=True)
class _Prepared:
    """A decoded, validated event of ours and the handler it goes to."""

    envelope: Envelope
    event: Event
    handler: Handler


class Consumer:
    """One consumer group of a service: a handler per event type, idempotent, ordered per partition."""

    def __init__(
        self,
        *,
        name: str,
        db: Database,
        settings: KitSettings,
        processed: Table,
        dead_letters: Table,
        subscriptions: list[Subscription[Any]],
        state: Any = None,
        batch_size: int = 200,
    ) -> None:
        self.name = name
        self.db = db
        self.settings = settings
        self.processed = processed
        self.dead_letters = dead_letters
        self.handlers: dict[str, Handler] = {s.event.event_type(): s.handler for s in subscriptions}
        self.many: dict[str, ManyHandler] = {
            s.event.event_type(): s.many for s in subscriptions if s.many is not None
        }
        self.topics = sorted({s.event.topic for s in subscriptions})
        self.state = state
        self.group_id = settings.topic(f"{settings.service_name}.{name}")
        self.batch_size = batch_size
        self._producer: AIOKafkaProducer | None = None
        # Records a batch of (consumer, event_id) at once; RETURNING names the ids not processed before.
        self._claim = (
            pg_insert(processed)
            .from_select(
                ["consumer", "event_id", "event_type"],
                select(
                    literal(name, String),
                    func.unnest(bindparam("ids", type_=ARRAY(PG_UUID(as_uuid=True)))),
                    func.unnest(bindparam("types", type_=ARRAY(String))),
                ),
            )
            .on_conflict_do_nothing()
            .returning(processed.c.event_id)
        )

    # -- processing one message -----------------------------------------------------------------

    def decode(self, headers: list[tuple[str, bytes]] | None, value: bytes | None) -> Envelope:
        try:
            return Envelope.from_kafka(headers, value)
        except (ValueError, orjson.JSONDecodeError) as exc:
            raise PoisonEvent(str(exc)) from exc

    def _prepare(self, envelope: Envelope) -> _Prepared | None:
        """The handler and typed event for an envelope; None when the type is not ours."""
        handler = self.handlers.get(envelope.type)
        if handler is None:
            return None  # another event type on a topic we read: not ours
        try:
            event = envelope.payload()
        except (KeyError, ValidationError) as exc:
            raise PoisonEvent(f"payload does not match {envelope.type}: {exc}") from exc
        return _Prepared(envelope=envelope, event=event, handler=handler)

    async def process(self, envelope: Envelope) -> bool:
        """Run the handler once per event id; returns False when the event was already processed."""
        prepared = self._prepare(envelope)
        if prepared is None:
            return False
        return bool(await self._process_together([prepared]))

    async def _process_together(self, items: list[_Prepared]) -> set[int]:
        """Run the handlers of several events in one transaction, in order, each at most once per event id
        (ids already recorded, or repeated within the batch, are skipped); returns the positions that ran.
        Consecutive events of a type that has a `many` handler go to it in one call. Any failure rolls the
        whole transaction back and raises."""
        types = {i.envelope.id: i.envelope.type for i in items}
        async with self.db.session() as session:
            claimed = set(
                (
                    await session.execute(self._claim, {"ids": list(types), "types": list(types.values())})
                ).scalars()
            )
            todo: list[tuple[int, _Prepared]] = []
            for position, item in enumerate(items):
                if item.envelope.id in claimed:
                    claimed.discard(item.envelope.id)  # the same event twice in one batch runs once
                    todo.append((position, item))
            start = 0
            while start < len(todo):
                item = todo[start][1]
                many = self.many.get(item.envelope.type)
                if many is None:
                    await self._run_one(session, item)
                    start += 1
                    continue
                end = start + 1
                while end < len(todo) and todo[end][1].envelope.type == item.envelope.type:
                    end += 1
                await self._run_many(session, many, [i for _, i in todo[start:end]])
                start = end
        return {position for position, _ in todo}

    async def _run_one(self, session: AsyncSession, item: _Prepared) -> None:
        envelope = item.envelope
        token = correlation_id.set(envelope.correlation_id)
        try:
            with tracer.start_as_current_span(
                f"consume {envelope.type}",
                context=extract(envelope.extra_headers),
                kind=SpanKind.CONSUMER,
            ):
                await item.handler(
                    item.event, EventContext(session=session, envelope=envelope, state=self.state)
                )
        finally:
            correlation_id.reset(token)

    async def _run_many(self, session: AsyncSession, many: ManyHandler, run: list[_Prepared]) -> None:
        envelopes = [i.envelope for i in run]
        links = None
        if tracing_enabled():  # one span for the run, linked to every event's trace
            links = [
                Link(context)
                for e in envelopes
                if (context := get_current_span(extract(e.extra_headers)).get_span_context()).is_valid
            ]
        with tracer.start_as_current_span(
            f"consume {envelopes[0].type}",
            kind=SpanKind.CONSUMER,
            links=links,
            attributes={"messaging.batch.message_count": len(run)},
        ):
            await many(
                [i.event for i in run], EventsContext(session=session, envelopes=envelopes, state=self.state)
            )

    async def handle_record(self, record: ConsumerRecord[bytes, bytes]) -> str:
        """Process one record with bounded retries; a record that still fails goes to the dead-letter topic."""
        topic = self.settings.logical_topic(record.topic)
        error: str
        try:
            envelope = self.decode(list(record.headers), record.value)
        except PoisonEvent as exc:
            await self.dead_letter(record, f"poison: {exc}")
            return "dead_lettered"
        attempts = self.settings.consumer_max_attempts
        attempt = 0
        outage_wait = self.settings.consumer_retry_backoff_s
        while attempt < attempts:
            attempt += 1
            try:
                done = await self.process(envelope)
                outcome = "processed" if done else "skipped"
                EVENTS_CONSUMED.labels(self.settings.service_name, self.name, topic, outcome).inc()
                return outcome
            except PoisonEvent as exc:
                error = f"poison: {exc}"
                break
            except Exception as exc:
                if database_unavailable(exc):
                    # Our own database is down, restarting or saturated: nothing is wrong with the event, and
                    # dead-lettering it would lose it. Wait for the database as long as it takes (the
                    # partition waits too; consumer lag and /readyz show it), without spending an attempt.
                    log.warning(
                        "database unavailable; the event waits",
                        extra={
                            "consumer": self.name,
                            "event_id": str(envelope.id),
                            "error": type(exc).__name__,
                        },
                    )
                    attempt -= 1
                    await asyncio.sleep(outage_wait)
                    outage_wait = min(outage_wait * 2, 5.0)
                    continue
                error = f"{type(exc).__name__}: {exc}"[:1000]
                log.warning(
                    "event handler failed",
                    extra={
                        "consumer": self.name,
                        "event_id": str(envelope.id),
                        "attempt": attempt,
                        "error": error,
                    },
                )
                if attempt < attempts:
                    await asyncio.sleep(self.settings.consumer_retry_backoff_s * 2 ** (attempt - 1))
        await self.dead_letter(record, error)
        return "dead_lettered"

    async def dead_letter(self, record: ConsumerRecord[bytes, bytes], error: str) -> None:
        """Send the record to `<topic>.dlq` with the error in a header, and keep a copy for ops replay."""
        topic = self.settings.logical_topic(record.topic)
        headers = list(record.headers or [])
        extra = [
            ("x-error", error.encode()[:2000]),
            ("x-consumer", self.name.encode()),
            ("x-original-topic", topic.encode()),
            ("x-original-partition", str(record.partition).encode()),
            ("x-original-offset", str(record.offset).encode()),
        ]
        if self._producer is not None:
            await self._producer.send_and_wait(
                self.settings.topic(topic + DLQ_SUFFIX),
                key=record.key,
                value=record.value,
                headers=headers + extra,
            )
        hd = {k: v.decode("utf-8", "replace") for k, v in headers}
        async with self.db.session() as session:
            await session.execute(
                insert(self.dead_letters).values(
                    consumer=self.name,
                    topic=topic,
                    partition=record.partition,
                    offset=record.offset,
                    event_id=hd.get("ce_id"),
                    event_type=hd.get("ce_type"),
                    key=record.key.decode("utf-8", "replace") if record.key else None,
                    headers=hd,
                    value=record.value.decode("utf-8", "replace") if record.value else None,
                    error=error,
                )
            )
        DLQ_MESSAGES.labels(self.settings.service_name, topic).inc()
        log.error(
            "event dead-lettered", extra={"consumer": self.name, "topic": topic, "event_id": hd.get("ce_id")}
        )

    # -- the loop -------------------------------------------------------------------------------

    async def _process_fetched(
        self, fetched: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]
    ) -> None:
        """The records of one fetch, `batch_size` at a time, each batch in one transaction (a transaction per
        partition cost a commit and a pooled connection per partition, and more connections than the pool
        keeps when many had records).

        Every partition's records stay in their order. Across partitions there is no order to keep, so the
        records are grouped by topic (a topic's events make long runs of one type for `many` handlers), the
        topics in the order of their earliest event (when it was staged): events a writer staged together on
        several topics are then handled roughly in the order they were staged, whatever order the broker
        answered the partitions in."""
        by_topic: dict[str, list[tuple[ConsumerRecord[bytes, bytes], _Prepared | None]]] = {}
        earliest: dict[str, datetime] = {}
        for records in fetched.values():
            for record in records:
                try:
                    item = self._prepare(self.decode(list(record.headers), record.value))
                except PoisonEvent as exc:
                    # It has no effects to order against the others, so it can leave before they commit.
                    await self.dead_letter(record, f"poison: {exc}")
                    continue
                by_topic.setdefault(record.topic, []).append((record, item))
                if item is not None:
                    staged = item.envelope.time
                    if staged.tzinfo is None:  # another producer's naive time: compare it as UTC
                        staged = staged.replace(tzinfo=UTC)
                    first = earliest.get(record.topic)
                    if first is None or staged < first:
                        earliest[record.topic] = staged
        order = sorted(by_topic, key=lambda t: earliest.get(t, _NEVER))  # stable: ties keep the fetch's order
        entries = [entry for topic in order for entry in by_topic[topic]]
        for start in range(0, len(entries), self.batch_size):
            await self._process_batch(entries[start : start + self.batch_size])

    async def _process_batch(
        self, entries: list[tuple[ConsumerRecord[bytes, bytes], _Prepared | None]]
    ) -> None:
        """Process records (each partition's in order) in one transaction; `None` for a record of a type that
        is not ours. A batch that fails is rolled back whole and its records are processed again one at a time
        (`handle_record`: retries, then the dead-letter topic), so a poison event costs the others in its
        batch only a second run."""
        batch: list[tuple[ConsumerRecord[bytes, bytes], _Prepared]] = []
        skipped: Counter[str] = Counter()
        for record, item in entries:
            if item is None:
                skipped[record.topic] += 1
            else:
                batch.append((record, item))
        processed: Counter[str] = Counter()
        if batch:
            try:
                ran = await self._process_together([item for _, item in batch])
            except Exception as exc:
                log.warning(
                    "event batch failed; processing its events one at a time",
                    extra={"consumer": self.name, "events": len(batch), "error": type(exc).__name__},
                )
                for record, _ in batch:
                    await self.handle_record(record)  # counts its own outcome
            else:
                for position, (record, _) in enumerate(batch):
                    (processed if position in ran else skipped)[record.topic] += 1
        for outcome, counts in (("processed", processed), ("skipped", skipped)):
            for topic, n in counts.items():
                EVENTS_CONSUMED.labels(
                    self.settings.service_name, self.name, self.settings.logical_topic(topic), outcome
                ).inc(n)

    async def run(self) -> None:
        """Consume until cancelled. Each partition is processed strictly in order."""
        self._producer = AIOKafkaProducer(
            bootstrap_servers=self.settings.kafka_bootstrap_servers, acks="all", enable_idempotence=False
        )
        await start_with_retry(self._producer, what=f"{self.name}-dlq")
        consumer = AIOKafkaConsumer(
            *[self.settings.topic(t) for t in self.topics],
            bootstrap_servers=self.settings.kafka_bootstrap_servers,
            group_id=self.group_id,
            client_id=f"{self.settings.service_name}-{self.name}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=500,
            fetch_max_wait_ms=self.settings.kafka_fetch_max_wait_ms,
            session_timeout_ms=self.settings.kafka_session_timeout_ms,
            heartbeat_interval_ms=max(self.settings.kafka_session_timeout_ms // 4, 100),
        )
        await start_with_retry(consumer, what=self.name)
        try:
            while True:
                batch = await consumer.getmany(timeout_ms=200, max_records=500)
                if not batch:
                    continue
                await self._process_fetched(batch)
                # Offsets move only after every record's database transaction has committed.
                await consumer.commit({tp: recs[-1].offset + 1 for tp, recs in batch.items()})
                self._record_lag(consumer, batch)
        finally:
            with contextlib.suppress(Exception):
                await consumer.stop()
            with contextlib.suppress(Exception):
                await self._producer.stop()

    def _record_lag(self, consumer: AIOKafkaConsumer, batch: dict[TopicPartition, Any]) -> None:
        for tp, recs in batch.items():
            end = consumer.highwater(tp)
            if end is not None:
                CONSUMER_LAG.labels(
                    self.settings.service_name, self.name, self.settings.logical_topic(tp.topic)
                ).set(max(end - (recs[-1].offset + 1), 0))
