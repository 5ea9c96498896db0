/**
 * Call deadlines on one shared timer (a hashed timing wheel), not one timer per call.
 *
 * undici's own headers and body timeouts run on coarse timers (about a second of resolution),
 * so a 250 ms timeout could fire after a second. Here each call registers its deadline in a
 * slot of TICK_MS; one unref'd interval, running only while deadlines are pending, visits the
 * slot of each tick and aborts what is due. A deadline is kept within two ticks (20 ms) plus
 * event-loop lag; registering and cancelling are O(1), and a cancelled entry leaves its slot at
 * once (swapped with the last one), so a finished call holds no memory until its slot comes round.
 */


const TICK_MS = 10;
/** Slots in the ring: deadlines further out than SLOTS × TICK_MS wait a lap in their slot. */
const SLOTS = 512;

type AbortListener = () => void;

/**
 * A call's deadline, and the abort signal undici watches for it (`signal: deadline`): the wheel
 * aborts it at `at` unless cancelled first. It is its own minimal signal (`aborted`, `reason`,
 * add/removeEventListener for 'abort', which is all undici reads) rather than an
 * AbortController: Node's EventTarget costs several microseconds per call to build and listen
 * to, which a proxy that answers in tens of microseconds would feel.
 */
export class CallDeadline {
  /** When it is due, on the monotonic clock (`performance.now()`): a wall-clock step neither fires nor stalls it. */
  at = 0;
  aborted = false;
  reason: unknown = undefined;
  #listeners: AbortListener[] | undefined;
  cancelled = false;
  /** Builds the error the abort carries. */
  owner: DeadlineReason | undefined;
  /** The call's whole time budget in ms, for the message. */
  budgetMs = 0;
  /** Set while the call waits in a saturated pool: a timeout then says nothing about the upstream. */
  queued = false;

  /** The slot holding this entry, and its index there (for removal in O(1)). */
  slot: CallDeadline[] | undefined;
  index = -1;

  /** This object, as the signal handed to undici. */
  get signal(): this {
    return this;
  }

  addEventListener(_type: 'abort', listener: AbortListener): void {
    (this.#listeners ??= []).push(listener);
  }

  removeEventListener(_type: 'abort', listener: AbortListener): void {
    const l = this.#listeners;
    if (!l) return;
    const i = l.indexOf(listener);
    if (i !== -1) l.splice(i, 1);
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const l = this.#listeners;
    this.#listeners = undefined;
    if (l) for (const fn of l) fn();
  }

  /** The call finished (or its deadline no longer applies): the entry leaves the wheel at once. */
  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    const slot = this.slot;
    if (slot === undefined) return;
    // Swap with the slot's last entry and pop: no scan, and nothing is kept until the slot comes round.
    const last = slot.pop()!;
    if (last !== this) {
      slot[this.index] = last;
      last.index = this.index;
    }
    this.slot = undefined;
    wheel.left();
  }
}

export interface DeadlineReason {
  /**
   * The error a call that ran out of time fails with. Called when the entry comes due, before its
   * abort; it may schedule a new entry (a later deadline) on the wheel.
   */
  timeoutError(deadline: CallDeadline): Error;
}

class Wheel {
  readonly #slots: CallDeadline[][] = Array.from({ length: SLOTS }, () => []);
  #pending = 0;
  #timer: NodeJS.Timeout | undefined;
  /** The last tick visited (absolute tick number). */
  #tick = 0;

  /** `at` on the Date.now() clock. */
  schedule(at: number, budgetMs: number, owner: DeadlineReason): CallDeadline {
    const d = new CallDeadline();
    // Callers speak the Date.now() clock (request deadlines); the wheel keeps the monotonic one.
    d.at = performance.now() + (at - Date.now());
    d.budgetMs = budgetMs;
    d.owner = owner;
    if (this.#pending++ === 0) this.#start();
    // The first tick boundary at or after the deadline (so it is due when its tick is visited);
    // a deadline in a tick already visited goes in the next one, not a lap later.
    const tick = Math.max(Math.ceil(d.at / TICK_MS), this.#tick + 1);
    const slot = this.#slots[tick % SLOTS]!;
    d.slot = slot;
    d.index = slot.push(d) - 1;
    return d;
  }

  /** An entry was cancelled (and has already left its slot). */
  left(): void {
    if (--this.#pending === 0) this.#stop();
  }

  #stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #start(): void {
    // An owner may schedule again while the wheel visits (a body read whose pause is not over):
    // the interval is then still running.
    if (this.#timer) return;
    this.#tick = Math.floor(performance.now() / TICK_MS);
    this.#timer = setInterval(() => this.#advance(), TICK_MS);
    this.#timer.unref();
  }

  #advance(): void {
    const now = performance.now();
    const last = Math.floor(now / TICK_MS);
    // Visit every tick since the previous visit (a busy loop may have skipped some), at most one lap.
    const from = Math.max(this.#tick + 1, last - SLOTS + 1);
    for (let t = from; t <= last; t++) this.#visit(this.#slots[t % SLOTS]!, now);
    this.#tick = last;
    if (this.#pending === 0) this.#stop();
  }

  #visit(slot: CallDeadline[], now: number): void {
    if (slot.length === 0) return;
    // Entries due now leave the slot first; aborting may cancel others (a listener's doing), so
    // the aborts run after the slot is consistent again.
    let due: CallDeadline[] | undefined;
    let keep = 0;
    for (let i = 0; i < slot.length; i++) {
      const d = slot[i]!;
      if (d.at <= now) {
        (due ??= []).push(d);
        d.cancelled = true;
        d.slot = undefined;
      } else {
        d.index = keep;
        slot[keep++] = d; // due on a later lap
      }
    }
    slot.length = keep;
    if (due === undefined) return;
    this.#pending -= due.length;
    for (const d of due) d.abort(d.owner!.timeoutError(d));
  }
}

const wheel = new Wheel();

/** Registers a call's deadline; the returned controller's signal aborts at `at` with the owner's timeout error. */
export function scheduleDeadline(at: number, budgetMs: number, owner: DeadlineReason): CallDeadline {
  return wheel.schedule(at, budgetMs, owner);
}
