"""What happens to an intervention after it is created, on the simulator's clock.

State machine (P = processing_delay, V = verification_delay):

    created ──(P)──> processing
        every document is then verified one after another, V apart, each
        giving a `document.verification` event: `rejected` when the
        document matches the reject rule (by default its name or url
        contains "reject"), `verified` otherwise.
    processing ──(last document decided)──> one of
        rejected           external_id is in `reject_external_ids` (terminal)
        pending_documents  a document was rejected and no verified
                           additional proof answers it; next_steps shows
                           {"type": "additional_proof", "status": "required"}
        approved           otherwise (terminal)
    pending_documents ──(PATCH adding documents)──> processing
        the new documents are verified V apart from the PATCH; a verified
        `additional_proof` answers every rejected document (a verified
        document of the same type answers a rejected one too, e.g. a
        corrected invoice), so the intervention is then approved; if a
        rejected document is still unanswered it goes back to
        pending_documents.

Every status change gives an `intervention.status_update` event (including
created → processing, and pending_documents → processing on a PATCH).
Documents added while created or processing simply join the verification
queue. Approved and rejected interventions accept no more documents.

Nothing runs on its own here: `run_due(now)` applies every step due by
`now`, in time order, stamping each change and event with the step's due
time rather than the time it was noticed. The simulator calls it from a
background thread (for webhooks) and before answering a GET, so state read
over HTTP is always current even when webhooks are off.

Inferred throughout: the contract only shows the statuses `created`,
`processing` and `approved`, the next-step type `verification`, and the two
event shapes; `pending_documents`, `rejected`, the `additional_proof` next
step and the timings are this simulator's choice.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

CREATED = "created"
PROCESSING = "processing"
PENDING_DOCUMENTS = "pending_documents"
APPROVED = "approved"
REJECTED = "rejected"
TERMINAL = frozenset({APPROVED, REJECTED})

STATUS_NOTES = {
    PROCESSING: "Intervention received, document verification in progress",
    PENDING_DOCUMENTS: "Additional proof required: a document was rejected",
    APPROVED: "All documents verified successfully",
    REJECTED: "Intervention rejected: not eligible after review",
}
VERIFIED_NOTES = "Document verified successfully"
REJECTED_NOTES = "Document rejected: illegible or inconsistent with the intervention"

Emit = Callable[[str, float, dict[str, Any]], None]


def isoformat_z(timestamp: float) -> str:
    """ISO-8601 UTC with a Z, to the second, as in the contract's examples."""
    return datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Document:
    type: str
    name: str
    url: str
    due_at: float  # when its verification is decided
    verification_status: str = "pending"  # pending | verified | rejected
    notes: str | None = None
    answered: bool = False  # a rejected document answered by a verified additional proof

    def view(self) -> dict[str, Any]:
        return {"type": self.type, "name": self.name, "url": self.url,
                "verification_status": self.verification_status}


@dataclass
class Intervention:
    id: str
    external_id: str
    payload: dict[str, Any]
    created_at: float
    processing_at: float
    status: str = CREATED
    updated_at: float = 0.0
    documents: list[Document] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)

    def view(self) -> dict[str, Any]:
        """The GET shape: the contract's fields plus `documents` (an inferred extension)."""
        return {
            "id": self.id,
            "external_id": self.external_id,
            "status": self.status,
            "created_at": isoformat_z(self.created_at),
            "updated_at": isoformat_z(self.updated_at),
            "next_steps": self.next_steps(),
            "documents": [document.view() for document in self.documents],
        }

    def next_steps(self) -> list[dict[str, Any]]:
        if self.status == PENDING_DOCUMENTS:
            return [{"type": "additional_proof", "status": "required"}]
        pending = [d.due_at for d in self.documents if d.verification_status == "pending"]
        if self.status in (CREATED, PROCESSING) and pending:
            return [{"type": "verification", "status": "pending",
                     "estimated_completion": isoformat_z(max(pending))}]
        return []

    def accepts_documents(self) -> bool:
        return self.status not in TERMINAL

    def has_document(self, url: str) -> bool:
        return any(document.url == url for document in self.documents)


@dataclass(order=True)
class _Step:
    due: float
    seq: int
    intervention_id: str = field(compare=False)
    document: Document | None = field(compare=False)  # None: start processing


class Lifecycle:
    def __init__(
        self,
        *,
        processing_delay: float,
        verification_delay: float,
        rejects_document: Callable[[Document], bool],
        reject_external_ids: frozenset[str],
        emit: Emit,
    ) -> None:
        self.processing_delay = processing_delay
        self.verification_delay = verification_delay
        self.rejects_document = rejects_document
        self.reject_external_ids = reject_external_ids
        self.emit = emit
        self.interventions: dict[str, Intervention] = {}
        self.by_external_id: dict[str, str] = {}
        self._steps: list[_Step] = []
        self._seq = itertools.count()

    def clear(self) -> None:
        self.interventions.clear()
        self.by_external_id.clear()
        self._steps.clear()

    def find_by_external_id(self, external_id: str) -> Intervention | None:
        intervention_id = self.by_external_id.get(external_id)
        return self.interventions.get(intervention_id) if intervention_id else None

    def create(self, intervention_id: str, payload: dict[str, Any], now: float) -> Intervention:
        intervention = Intervention(
            id=intervention_id,
            external_id=payload["external_id"],
            payload=payload,
            created_at=now,
            processing_at=now + self.processing_delay,
            updated_at=now,
            history=[{"status": CREATED, "at": isoformat_z(now), "notes": None}],
        )
        self.interventions[intervention.id] = intervention
        self.by_external_id[intervention.external_id] = intervention.id
        self._schedule(intervention, intervention.processing_at, None)
        self._queue_documents(intervention, payload["documents"], intervention.processing_at)
        return intervention

    def add_documents(self, intervention: Intervention, documents: list[dict[str, Any]],
                      now: float) -> int:
        """Add the documents not already there (same url); returns how many were new.

        Skipping known urls makes a retried PATCH harmless.
        """
        fresh = [d for d in documents if not intervention.has_document(d["url"])]
        if not fresh:
            return 0
        intervention.updated_at = now
        if intervention.status == PENDING_DOCUMENTS:
            self._set_status(intervention, PROCESSING, now,
                             "Additional documents received, verification in progress")
        self._queue_documents(intervention, fresh, max(now, intervention.processing_at))
        return len(fresh)

    def run_due(self, now: float) -> int:
        """Apply every step due by `now`; returns how many were applied."""
        applied = 0
        while self._steps and self._steps[0].due <= now:
            step = heapq.heappop(self._steps)
            intervention = self.interventions.get(step.intervention_id)
            if intervention is None:
                continue
            if step.document is None:
                self._set_status(intervention, PROCESSING, step.due, STATUS_NOTES[PROCESSING])
            else:
                self._verify(intervention, step.document, step.due)
            applied += 1
        return applied

    # -- steps ---------------------------------------------------------------
    def _queue_documents(self, intervention: Intervention, documents: list[dict[str, Any]],
                         start: float) -> None:
        # Verified one after another, like a back office working a queue.
        for position, data in enumerate(documents, start=1):
            document = Document(type=data["type"], name=data["name"], url=data["url"],
                                due_at=start + self.verification_delay * position)
            intervention.documents.append(document)
            self._schedule(intervention, document.due_at, document)

    def _schedule(self, intervention: Intervention, due: float,
                  document: Document | None) -> None:
        heapq.heappush(self._steps, _Step(due, next(self._seq), intervention.id, document))

    def _verify(self, intervention: Intervention, document: Document, at: float) -> None:
        rejected = self.rejects_document(document)
        document.verification_status = "rejected" if rejected else "verified"
        document.notes = REJECTED_NOTES if rejected else VERIFIED_NOTES
        intervention.updated_at = at
        self.emit("document.verification", at, {
            "intervention_id": intervention.id,
            "external_id": intervention.external_id,
            "document_type": document.type,
            "verification_status": document.verification_status,
            "notes": document.notes,
        })
        if not rejected:
            for earlier in intervention.documents:
                if earlier.verification_status == "rejected" and (
                    document.type in ("additional_proof", earlier.type)
                ):
                    earlier.answered = True
        self._conclude(intervention, at)

    def _conclude(self, intervention: Intervention, at: float) -> None:
        """Decide the outcome once no document is waiting for verification."""
        if intervention.status != PROCESSING or any(
            d.verification_status == "pending" for d in intervention.documents
        ):
            return
        if intervention.external_id in self.reject_external_ids:
            outcome = REJECTED
        elif any(d.verification_status == "rejected" and not d.answered
                 for d in intervention.documents):
            outcome = PENDING_DOCUMENTS
        else:
            outcome = APPROVED
        self._set_status(intervention, outcome, at, STATUS_NOTES[outcome])

    def _set_status(self, intervention: Intervention, status: str, at: float,
                    notes: str) -> None:
        previous, intervention.status, intervention.updated_at = intervention.status, status, at
        intervention.history.append({"status": status, "at": isoformat_z(at), "notes": notes})
        self.emit("intervention.status_update", at, {
            "intervention_id": intervention.id,
            "external_id": intervention.external_id,
            "previous_status": previous,
            "new_status": status,
            "notes": notes,
        })
