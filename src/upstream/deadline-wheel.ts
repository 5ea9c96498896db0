/**
 * Call deadlines on one shared timer (a hashed timing wheel), not one timer per call.
 *
 * undici's own headers and body timeouts run on coarse timers (about a second of resolution),
 * so a 250 ms timeout could fire after a second. Here each call registers its deadline in a
 * slot of TICK_MS; one unref'd interval, running only while deadlines are pending, visits the
 * slot of each tick and aborts what is due. A deadline is kept within two ticks (20 ms) plus
 * event-loop lag; registering and cancelling are O(1) (cancelling only flags the entry, the tick drops it).
 */

const TICK_MS = 10;
/** Slots in the ring: deadlines further out than SLOTS × TICK_MS wait a lap in their slot. */
const SLOTS = 512;

/** A call's deadline: an AbortController the wheel aborts at `at` unless cancelled first. */
export class CallDeadline extends AbortController {
  /** Absolute time (Date.now() clock). */
  at = 0;
  cancelled = false;
  /** Builds the error the abort carries. */
  owner: DeadlineReason | undefined;
  /** The call's whole time budget in ms, for the message. */
  budgetMs = 0;
  /** Set while the call waits in a saturated pool: a timeout then says nothing about the upstream. */
  queued = false;

  /** The call finished (or its deadline no longer applies): the wheel drops the entry. */
  cancel(): void {
    this.cancelled = true;
  }
}

export interface DeadlineReason {
  /** The error a call that ran out of time fails with. */
  timeoutError(deadline: CallDeadline): Error;
}

class Wheel {
  readonly #slots: CallDeadline[][] = Array.from({ length: SLOTS }, () => []);
  #pending = 0;
  #timer: NodeJS.Timeout | undefined;
  /** The last tick visited (absolute tick number). */
  #tick = 0;

  schedule(at: number, budgetMs: number, owner: DeadlineReason): CallDeadline {
    const d = new CallDeadline();
    d.at = at;
    d.budgetMs = budgetMs;
    d.owner = owner;
    if (this.#pending++ === 0) this.#start();
    // The first tick boundary at or after the deadline (so it is due when its tick is visited);
    // a deadline in a tick already visited goes in the next one, not a lap later.
    const tick = Math.max(Math.ceil(at / TICK_MS), this.#tick + 1);
    this.#slots[tick % SLOTS]!.push(d);
    return d;
  }

  #start(): void {
    this.#tick = Math.floor(Date.now() / TICK_MS);
    this.#timer = setInterval(() => this.#advance(), TICK_MS);
    this.#timer.unref();
  }

  #advance(): void {
    const now = Date.now();
    const last = Math.floor(now / TICK_MS);
    // Visit every tick since the previous visit (a busy loop may have skipped some), at most one lap.
    const from = Math.max(this.#tick + 1, last - SLOTS + 1);
    for (let t = from; t <= last; t++) this.#visit(this.#slots[t % SLOTS]!, now);
    this.#tick = last;
    if (this.#pending === 0 && this.#timer) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  #visit(slot: CallDeadline[], now: number): void {
    if (slot.length === 0) return;
    let keep = 0;
    for (let i = 0; i < slot.length; i++) {
      const d = slot[i]!;
      if (d.cancelled) {
        this.#pending--;
      } else if (d.at <= now) {
        this.#pending--;
        d.cancelled = true;
        d.abort(d.owner!.timeoutError(d));
      } else {
        slot[keep++] = d; // due on a later lap
      }
    }
    slot.length = keep;
  }
}

const wheel = new Wheel();

/** Registers a call's deadline; the returned controller's signal aborts at `at` with the owner's timeout error. */
export function scheduleDeadline(at: number, budgetMs: number, owner: DeadlineReason): CallDeadline {
  return wheel.schedule(at, budgetMs, owner);
}
