/**
 * Round engines by name (STYLE.md §2.5, like the algorithm registry): an algorithm's registry entry names its
 * engine, or gets its mode's default, and the Peer builds it from here. An unknown name lists the known ones.
 */
import { ConfigError } from '../errors.js';
import { runAsyncGossip, type AsyncOptions } from './async-gossip.js';
import type { EngineFactory } from './engine.js';
import { ModestEngine } from './modest/engine.js';
import type { ModestSettings } from './modest/settings.js';
import { runSyncRounds } from './sync-rounds.js';

/** Classic gossip learning (ALGORITHMS.md §1): merge what arrives, then train; push to one neighbour. */
export const DEFAULT_ASYNC_OPTIONS: AsyncOptions = Object.freeze({ trainEachPeriod: false, trainAfterMerge: true, pushToAll: false });

const ENGINES: ReadonlyMap<string, EngineFactory> = new Map<string, EngineFactory>([
  ['sync-rounds', (ctx) => ({ run: (signal) => runSyncRounds(ctx, signal, ctx.progress) })],
  ['async-gossip', (ctx, options) => ({ run: (signal) => runAsyncGossip(ctx, signal, (options as AsyncOptions | undefined) ?? DEFAULT_ASYNC_OPTIONS) })],
  ['modest', (ctx, options) => new ModestEngine(ctx, options as ModestSettings | undefined)],
]);

/** Engine names, for help texts and errors. */
export function engineNames(): string[] {
  return [...ENGINES.keys()];
}

/** The factory of engine `name`; throws ConfigError naming the known engines. */
export function engineFactory(name: string): EngineFactory {
  const f = ENGINES.get(name);
  if (f === undefined) throw new ConfigError(`unknown round engine "${name}"; known engines: ${engineNames().join(', ')}`);
  return f;
}
