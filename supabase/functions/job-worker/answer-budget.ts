/**
 * How many of Gemini's answers one worker process may have coming at once, by memory rather
 * than by slots. `@google/genai` reads each answer whole: the response bytes, the JSON text, the
 * parsed base64 string, then the worker's decoded image, about three to four times the image's
 * own size while it is parsed (measured: 1.8 MB per 1K answer of a 0.7 MB PNG, 22 MB per 4K
 * answer of a 6.3 MB PNG; docs/worker.md, Memory and CPU). Nothing in the SDK bounds that, and
 * the answers of every job in flight can land together, so the worker bounds the jobs it holds:
 * each held job weighs what its answers will take, and the worker claims only as many jobs as
 * fit in what is left of the budget. A job that does not fit stays queued, unclaimed, for this
 * process once a job ends or for another instance, instead of being claimed and then waiting.
 *
 * A job's weight: ANSWER_MEMORY_FACTOR times the largest image this process has received (or,
 * before its first, FIRST_ANSWER_ESTIMATE_BYTES, a 1K image: the size the worker asks for),
 * times the job's images. Jobs name no image size (every model answers at its default, 1K), so
 * the size is learnt from the answers themselves; an instance lives at most one wall clock
 * (150 s hosted), so what it learnt never outlives the traffic it learnt it from.
 */
export const MB = 1024 * 1024;
/** Memory held per answer while it is parsed and stored, as a multiple of the image's bytes. */
export const ANSWER_MEMORY_FACTOR = 4;
/**
 * A 1K PNG's size before this process has seen one: a photographic 1024x1024 picture compresses
 * to about 1.5-2 MB (the stand-in's smooth pictures to 0.7 MB).
 */
export const FIRST_ANSWER_ESTIMATE_BYTES = 2 * MB;

export interface AnswerBudget {
  /** How many more jobs fit, given the jobs already held; at least 1 when none is held. */
  room(): number;
  /** Counts a claimed job against the budget; returns its weight, to give back when it ends. */
  take(images: number): number;
  give(weight: number): void;
  /** An image answer of `bytes` arrived: later claims weigh jobs by the largest seen. */
  observe(bytes: number): void;
  /** Bytes held by the jobs in flight, and what one more image answer would weigh now. */
  readonly heldBytes: number;
  readonly answerWeight: number;
}

export function createAnswerBudget(budgetBytes: number): AnswerBudget {
  let heaviest = 0;
  let held = 0;
  let jobs = 0;
  const unit = () => ANSWER_MEMORY_FACTOR * (heaviest || FIRST_ANSWER_ESTIMATE_BYTES);
  return {
    room() {
      const fit = Math.floor((budgetBytes - held) / unit());
      // One job always fits an empty process: an answer larger than the whole budget must still
      // be fetched by someone, and alone it is the smallest burst there can be.
      return jobs === 0 ? Math.max(1, fit) : Math.max(0, fit);
    },
    take(images) {
      const weight = unit() * Math.max(1, images);
      held += weight;
      jobs += 1;
      return weight;
    },
    give(weight) {
      held -= weight;
      jobs -= 1;
    },
    observe(bytes) {
      heaviest = Math.max(heaviest, bytes);
    },
    get heldBytes() {
      return held;
    },
    get answerWeight() {
      return unit();
    },
  };
}
