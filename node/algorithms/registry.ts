/**
 * One registry maps algorithm names to compositions (STYLE.md §2.5): the daemon and the simulator resolve
 * the same names. A duplicate name throws; an unknown name lists the known ones; hyperparameters are
 * validated with their key paths.
 */
import { ConfigError, DuplicateEntryError } from '../errors.js';
import type { AlgorithmDefinition, AlgorithmEnv, AlgorithmInstance } from './types.js';

export interface ResolvedAlgorithm {
  readonly definition: AlgorithmDefinition;
  readonly params: Record<string, unknown>;
  readonly instance: AlgorithmInstance;
}

export class AlgorithmRegistry {
  private readonly entries = new Map<string, AlgorithmDefinition>();

  register<P extends Record<string, unknown>>(definition: AlgorithmDefinition<P>): this {
    if (this.entries.has(definition.name)) throw new DuplicateEntryError('algorithm', definition.name);
    this.entries.set(definition.name, definition as unknown as AlgorithmDefinition);
    return this;
  }

  /** Names in registration order, for help texts and errors. */
  list(): string[] { return [...this.entries.keys()]; }

  get(name: string): AlgorithmDefinition {
    const d = this.entries.get(name);
    if (!d) throw new ConfigError(`unknown algorithm "${name}"; known algorithms: ${this.list().join(', ')}`);
    return d;
  }

  /** Validate `params` (defaults filled in) without building an instance. */
  validate(name: string, params: unknown = {}, path = 'algorithm'): Record<string, unknown> {
    const d = this.get(name);
    const parsed = d.params.safeParse(params ?? {});
    if (!parsed.success) {
      const problems = parsed.error.issues.map((i) => `${[path, ...i.path.map(String)].join('.')}: ${i.message}`);
      throw new ConfigError(`invalid hyperparameters for ${name}:\n  ${problems.join('\n  ')}`, problems);
    }
    return parsed.data as Record<string, unknown>;
  }

  /** Validate and instantiate for a peer. */
  resolve(name: string, params: unknown, env: AlgorithmEnv): ResolvedAlgorithm {
    const d = this.get(name);
    if (!d.modes.includes(env.mode)) {
      throw new ConfigError(`algorithm ${name} runs in ${d.modes.join(' or ')} mode, not ${env.mode}`);
    }
    const p = this.validate(name, params);
    return { definition: d, params: p, instance: d.create(p, env) };
  }
}
