"""In-memory object storage: one global resourceVersion counter, a bounded event history for watch resume
and fan-out to watchers with bounded queues.

Everything here runs on the server's event loop (no locks). Stored objects and event snapshots are never
mutated after they are stored: callers copy (`clone`) before changing anything.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from .selectors import Predicate

StorageKey = tuple[str, str]  # (group, plural)
ObjectKey = tuple[str, str]  # (namespace or "", name)


def clone(obj: Any) -> Any:
    """A deep copy of JSON-like data (faster than copy.deepcopy for plain dicts and lists)."""
    return json.loads(json.dumps(obj))


@dataclass(frozen=True)
class WatchEvent:
    type: str  # ADDED | MODIFIED | DELETED
    storage: StorageKey
    obj: dict[str, Any]
    rv: int
    old: dict[str, Any] | None = None  # the previous snapshot of a MODIFIED or DELETED object (shared)


class Watcher:
    """One open watch stream: a bounded queue of events that match its scope.

    When the client cannot keep up and the queue fills, the watcher is closed (the client reconnects and
    resumes from its last resourceVersion, as with a real API server)."""

    def __init__(
        self,
        storage: StorageKey,
        namespace: str | None,
        predicate: Predicate | None,
        maxsize: int,
    ) -> None:
        self.storage = storage
        self.namespace = namespace
        self.predicate = predicate
        self.queue: asyncio.Queue[WatchEvent | None] = asyncio.Queue(maxsize=maxsize)
        self.closed = False

    def translate(self, event: WatchEvent) -> WatchEvent | None:
        """The event as this watcher sees it, or None. As with kube-apiserver, an object that starts
        matching the selectors arrives as ADDED and one that stops matching leaves as DELETED."""
        if event.storage != self.storage:
            return None
        meta = event.obj.get("metadata") or {}
        if self.namespace is not None and meta.get("namespace") != self.namespace:
            return None
        if self.predicate is None:
            return event
        now = self.predicate(event.obj)
        if event.type != "MODIFIED":
            return event if now else None
        before = event.old is not None and self.predicate(event.old)
        if now and before:
            return event
        if now:
            return replace(event, type="ADDED")
        if before:
            return replace(event, type="DELETED")
        return None

    def offer(self, event: WatchEvent) -> None:
        if self.closed:
            return
        seen = self.translate(event)
        if seen is None:
            return
        try:
            self.queue.put_nowait(seen)
        except asyncio.QueueFull:
            self.close()
            raise

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        # Make room for the end marker so the stream loop wakes up and ends.
        while self.queue.full():
            self.queue.get_nowait()
        self.queue.put_nowait(None)


def _in_key_order(objs: dict[ObjectKey, dict[str, Any]], namespace: str | None) -> list[dict[str, Any]]:
    items = objs.items() if namespace is None else [(k, v) for k, v in objs.items() if k[0] == namespace]
    return [v for _, v in sorted(items, key=lambda kv: f"{kv[0][0]}/{kv[0][1]}")]


class Store:
    """Objects by storage key and (namespace, name); a bounded history of events; the watchers."""

    def __init__(self, history_size: int = 5000, watch_queue_size: int = 10_000) -> None:
        self.rv = 1
        self.watch_queue_size = watch_queue_size
        self._objects: dict[StorageKey, dict[ObjectKey, dict[str, Any]]] = {}
        self._history: deque[WatchEvent] = deque(maxlen=history_size)
        self._watchers: set[Watcher] = set()
        self._window_starts: dict[StorageKey, int] = {}
        self._kind_rvs: dict[StorageKey, int] = {}  # the resourceVersion of each kind's latest event
        self.overflows = 0  # watchers closed because they fell `watch_queue_size` events behind

    # -- reads -------------------------------------------------------------------------------------
    def get(self, storage: StorageKey, namespace: str, name: str) -> dict[str, Any] | None:
        return self._objects.get(storage, {}).get((namespace, name))

    def list_objects(self, storage: StorageKey, namespace: str | None = None) -> list[dict[str, Any]]:
        """The objects (of `namespace`, or all), in etcd's key order (`namespace/name` as bytes)."""
        return _in_key_order(self._objects.get(storage, {}), namespace)

    def list_objects_at(
        self, storage: StorageKey, namespace: str | None, rv: int
    ) -> list[dict[str, Any]] | None:
        """`list_objects` as it was at resourceVersion `rv`, rebuilt from the event history; None when
        the history no longer reaches back to it (etcd would have compacted it)."""
        if rv >= self.rv:
            return self.list_objects(storage, namespace)
        objs = self._state_at(storage, rv)
        return None if objs is None else _in_key_order(objs, namespace)

    def _state_at(self, storage: StorageKey, rv: int) -> dict[ObjectKey, dict[str, Any]] | None:
        """`storage`'s objects as they were at `rv`: today's, with every later event undone."""
        if not self._history or self._history[0].rv > rv + 1:
            return None
        objs = dict(self._objects.get(storage, {}))
        for event in reversed(self._history):
            if event.rv <= rv:
                break
            if event.storage != storage:
                continue
            meta = event.obj["metadata"]
            key = (meta.get("namespace", ""), meta["name"])
            if event.old is None:  # ADDED: it did not exist yet
                objs.pop(key, None)
            else:  # MODIFIED or DELETED: it was `old`
                objs[key] = event.old
        return objs

    def count(self, storage: StorageKey) -> int:
        return len(self._objects.get(storage, {}))

    def storage_keys(self) -> list[StorageKey]:
        return list(self._objects)

    def namespaced_objects(self, namespace: str) -> Iterator[tuple[StorageKey, dict[str, Any]]]:
        for storage, objs in list(self._objects.items()):
            for (ns, _), obj in list(objs.items()):
                if ns == namespace:
                    yield storage, obj

    # -- writes ------------------------------------------------------------------------------------
    def _next_rv(self) -> str:
        self.rv += 1
        return str(self.rv)

    def put(self, storage: StorageKey, obj: dict[str, Any]) -> dict[str, Any]:
        """Store `obj` (owned by the store from now on) with a fresh resourceVersion; emit ADDED/MODIFIED."""
        meta = obj["metadata"]
        key = (meta.get("namespace", ""), meta["name"])
        bucket = self._objects.setdefault(storage, {})
        old = bucket.get(key)
        meta["resourceVersion"] = self._next_rv()
        bucket[key] = obj
        self._emit(WatchEvent("ADDED" if old is None else "MODIFIED", storage, obj, self.rv, old))
        return obj

    def remove(self, storage: StorageKey, namespace: str, name: str) -> dict[str, Any] | None:
        """Remove an object for good; the DELETED event carries a new resourceVersion."""
        bucket = self._objects.get(storage, {})
        old = bucket.pop((namespace, name), None)
        if old is None:
            return None
        gone = dict(old)
        gone["metadata"] = dict(old["metadata"], resourceVersion=self._next_rv())
        self._emit(WatchEvent("DELETED", storage, gone, self.rv, old))
        return gone

    def _emit(self, event: WatchEvent) -> None:
        self._kind_rvs[event.storage] = event.rv
        self._history.append(event)
        for watcher in list(self._watchers):
            try:
                watcher.offer(event)
            except asyncio.QueueFull:
                self.overflows += 1
            if watcher.closed:
                self._watchers.discard(watcher)

    # -- watches -----------------------------------------------------------------------------------
    def start_watch_window(self, storage: StorageKey) -> None:
        """A kind served from now on: watches of it resume from now, never from an earlier
        resourceVersion (kube-apiserver's watch cache of a kind starts when the kind is served)."""
        self._window_starts[storage] = self.rv

    def kind_rv(self, storage: StorageKey) -> int:
        """The resourceVersion `storage`'s watches have reached: its latest event's (what kube-apiserver's
        watch cache of the kind has processed; writes of other kinds do not move it)."""
        return self._kind_rvs.get(storage, self._window_starts.get(storage, 0))

    def oldest_resumable(self, storage: StorageKey) -> int:
        """The oldest resourceVersion a watch of `storage` can resume from."""
        start = self._window_starts.get(storage, 0)
        if self._history:
            start = max(start, self._history[0].rv - 1)
        return max(start, 0 if self._history else self.rv)

    def events_since(self, rv: int, storage: StorageKey | None = None) -> list[WatchEvent] | None:
        """Events after `rv`, or None when the history no longer reaches back that far, or `storage` was
        not served yet at `rv` (410 Gone)."""
        if storage is not None and rv < self._window_starts.get(storage, 0):
            return None
        if rv >= self.rv:
            return []
        if not self._history or self._history[0].rv > rv + 1:
            return None
        return [e for e in self._history if e.rv > rv]

    def subscribe(self, watcher: Watcher) -> None:
        self._watchers.add(watcher)

    def unsubscribe(self, watcher: Watcher) -> None:
        self._watchers.discard(watcher)

    def close_watchers(self) -> None:
        for watcher in list(self._watchers):
            watcher.close()
        self._watchers.clear()

    @property
    def history_length(self) -> int:
        return len(self._history)
