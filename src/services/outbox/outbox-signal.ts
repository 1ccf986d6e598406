// An in-process doorbell: code that wrote an outbox row rings it after its transaction
// commits, and every dispatcher in this process looks at the outbox right away instead of
// at its next poll. Missing a ring costs at most one poll interval, never a job.

type Listener = () => void;
const listeners = new Set<Listener>();

export function notifyOutbox(): void {
  for (const listener of listeners) listener();
}

/** Returns the function that stops listening. */
export function onOutboxNotify(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
