import { createRequire } from 'node:module';
import type * as Prom from 'prom-client';
import { lazyRequire } from '../core/lazy-module.js';

/**
 * prom-client's parts, file by file. Its index also loads the Summary (tdigest), the Pushgateway
 * (http, https, zlib), the cluster aggregator and every default process metric, one of which loads
 * @opentelemetry/api (51 files, for exemplars): ~90 files and ~20 ms a start does not need
 * (decision 016). The default metrics are made at the first scrape (DeckhandMetrics.text), so their
 * files are loaded then. A dependency on prom-client 15's file layout: the lazy-start test fails if
 * a file moves or stops being what the index exports.
 */
const require = createRequire(import.meta.url);

export const Registry = require('prom-client/lib/registry') as typeof Prom.Registry;
export const Counter = require('prom-client/lib/counter') as typeof Prom.Counter;
export const Gauge = require('prom-client/lib/gauge') as typeof Prom.Gauge;
export const Histogram = require('prom-client/lib/histogram') as typeof Prom.Histogram;
export const collectDefaultMetrics = lazyRequire<typeof Prom.collectDefaultMetrics>('prom-client/lib/defaultMetrics');
