// How long the store takes: every HubStore method call is timed into one histogram by method
// name (`operation`), from the call to its promise settling (a group-committed write includes its
// wait for the batch). A Proxy over the store, so no engine needs to know; wrappers are made once
// per method.
import { Histogram } from 'prom-client';
import type { HubStore } from '../store/store.ts';

export function storeOperationHistogram(): Histogram<'operation' | 'engine'> {
  return new Histogram({
    name: 'tether_store_operation_duration_seconds',
    help: 'Time the hub store (SQLite or PostgreSQL) takes per operation, until its promise settles (group-committed writes include the wait for their batch)',
    labelNames: ['operation', 'engine'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [],
  });
}

export function timedStore(store: HubStore, histogram: Histogram<'operation' | 'engine'>): HubStore {
  const wrapped = new Map<PropertyKey, unknown>();
  return new Proxy(store, {
    get(target, property) {
      const value = Reflect.get(target, property, target) as unknown;
      if (typeof value !== 'function' || typeof property !== 'string') return value;
      let timed = wrapped.get(property);
      if (!timed) {
        const method = value as (...args: unknown[]) => unknown;
        const labels = { operation: property, engine: target.engine };
        // Called on the store itself, never the proxy: the engines' private fields need their own `this`.
        timed = (...args: unknown[]) => {
          const end = histogram.startTimer(labels);
          const result = method.apply(target, args);
          if (result instanceof Promise) return result.finally(() => end());
          end();
          return result;
        };
        wrapped.set(property, timed);
      }
      return timed;
    },
  });
}
