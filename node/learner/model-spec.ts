/** The JSON-able model specs of the zoo (models.ts builds them; supermask.ts builds the FRL ones). */

export interface CommonSpec {
  /** Shape of one example, e.g. [28, 28, 1] or [784]. */
  inputShape: number[];
  classes: number;
  /** Seed of the initial weights; peers that share it start from the same model. */
  seed: number | string;
}
export interface LogregSpec extends CommonSpec { arch: 'logreg' }
export interface MlpSpec extends CommonSpec { arch: 'mlp'; hidden: number[] }
/** LeNet-5 style: conv5×5(c1, same) → pool → conv5×5(c2, valid) → pool → dense d1 → dense d2 → classes. */
export interface CnnSpec extends CommonSpec { arch: 'cnn'; filters?: [number, number]; dense?: number[] }
/**
 * FRL supermask MLP (ALGORITHMS.md §5.1): frozen signed-constant weights, trainable scores, no biases;
 * `sparsity` = fraction of each layer's edges kept (default 0.5). See supermask.ts.
 */
export interface SupermaskMlpSpec extends CommonSpec { arch: 'supermask-mlp'; hidden: number[]; sparsity?: number }
/** FRL's MNIST LeNet as a supermask: conv3×3 filters[0] → conv3×3 filters[1] → pool → dense → classes (defaults [32, 64], [128]). */
export interface SupermaskCnnSpec extends CommonSpec { arch: 'supermask-cnn'; filters?: [number, number]; dense?: number[]; sparsity?: number }
export type ModelSpec = LogregSpec | MlpSpec | CnnSpec | SupermaskMlpSpec | SupermaskCnnSpec;
