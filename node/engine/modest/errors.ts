/** Errors of the MoDeST engine (STYLE.md "Errors"): match on `code`. */
import { MurmurError } from '../../errors.js';

/** The engine was started without MoDeST settings (the registry entry's engine options). */
export class ModestConfigError extends MurmurError {
  static override name = 'ModestConfigError';
  constructor(message: string) { super('ERR_MODEST_CONFIG', message); }
}

/** A sampling rule was called with an option outside its range (a bug in the caller; code as aggregation/'s). */
export class ModestOptionError extends MurmurError {
  static override name = 'ModestOptionError';
  constructor(message: string) { super('ERR_BAD_OPTION', message); }
}

/** Throw ModestOptionError unless `ok`. */
export function checkOption(ok: boolean, rule: string, detail: string): void {
  if (!ok) throw new ModestOptionError(`${rule}: ${detail}`);
}
