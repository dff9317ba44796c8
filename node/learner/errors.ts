import { MurmurError } from '../errors.js';

/** A weight vector or a loaded model does not match the expected layout. */
export class LayoutMismatchError extends MurmurError {
  static override name = 'LayoutMismatchError';
  constructor(readonly expected: string, readonly got: string, detail = '') {
    super('ERR_LAYOUT_MISMATCH', `weights do not match the model layout: expected ${expected}, got ${got}${detail ? ` (${detail})` : ''}`);
  }
}

/** A model spec names an unknown architecture or has invalid fields. */
export class ModelSpecError extends MurmurError {
  static override name = 'ModelSpecError';
  constructor(message: string) { super('ERR_MODEL_SPEC', message); }
}

/** The learner was asked to train while it is already training (STYLE.md §2.3: no re-entry). */
export class LearnerBusyError extends MurmurError {
  static override name = 'LearnerBusyError';
  constructor() { super('ERR_LEARNER_BUSY', 'the learner is already training; wait for the current task to finish'); }
}

/** Training hyperparameters are invalid. */
export class TrainOptionsError extends MurmurError {
  static override name = 'TrainOptionsError';
  constructor(message: string) { super('ERR_TRAIN_OPTIONS', message); }
}

/** A worker died or failed to start. */
export class WorkerPoolError extends MurmurError {
  static override name = 'WorkerPoolError';
  constructor(message: string, options?: { cause?: unknown }) { super('ERR_WORKER_POOL', message, options); }
}
