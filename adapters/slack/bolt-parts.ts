/**
 * The parts of Bolt the Slack adapter uses, loaded file by file instead of through `@slack/bolt`'s
 * index: the index also loads the ExpressReceiver (express, body-parser) and the AWS Lambda
 * receiver, and Bolt's App.js loads the SocketModeReceiver (@slack/socket-mode, undici, @slack/oauth)
 * whatever the mode — together about 0.2 s and 20 MB of a start that uses neither in HTTP mode.
 *
 * In HTTP mode the SocketModeReceiver's module is put in Node's require cache as a stand-in that
 * loads the real one the first time App.js's `SocketModeReceiver_1.default` is read (App.js only
 * reads it to build a receiver for `socketMode: true`, which Deckhand never asks of the App: it
 * builds its receivers itself). Where the cache cannot be seeded (jest's module registry), the real
 * module is simply loaded, as before. Bolt is pinned to ^5 (package.json); bolt-parts.test.ts checks
 * that these files still export what is used here.
 */
import { createRequire, Module } from 'node:module';
import type * as BoltIndex from '@slack/bolt';
import type { HTTPResponseAck as HTTPResponseAckType } from '@slack/bolt/dist/receivers/HTTPResponseAck.js';
import type * as WebApi from '@slack/web-api';

const require = createRequire(import.meta.url);

export interface BoltParts {
  App: typeof BoltIndex.App;
  HTTPModuleFunctions: typeof BoltIndex.HTTPModuleFunctions;
  HTTPResponseAck: typeof HTTPResponseAckType;
  WebClient: typeof WebApi.WebClient;
  /** Only in Socket Mode (loads @slack/socket-mode). */
  SocketModeReceiver(): typeof BoltIndex.SocketModeReceiver;
}

const socketModePath = () => require.resolve('@slack/bolt/dist/receivers/SocketModeReceiver.js');

/** Before App.js is first loaded: its `require("./receivers/SocketModeReceiver")` gets a stand-in. */
function deferSocketMode(): void {
  const file = socketModePath();
  if (require.cache[file]) return;
  const standIn = new Module(file);
  standIn.filename = file;
  standIn.loaded = true;
  standIn.exports = {
    __esModule: true,
    get default(): unknown {
      if (require.cache[file] === standIn) delete require.cache[file];
      return (require(file) as { default: unknown }).default;
    },
  };
  require.cache[file] = standIn;
}

/** The HTTP-mode pieces only (the request gate): no App. */
export function httpModuleFunctions(): typeof BoltIndex.HTTPModuleFunctions {
  return require('@slack/bolt/dist/receivers/HTTPModuleFunctions.js') as typeof BoltIndex.HTTPModuleFunctions;
}

export function loadBolt(mode: 'http' | 'socket'): BoltParts {
  if (mode === 'http') deferSocketMode();
  const App = (require('@slack/bolt/dist/App.js') as { default: typeof BoltIndex.App }).default;
  // @slack/web-api as Bolt resolves it (the App's own client is of this class).
  const boltRequire = createRequire(require.resolve('@slack/bolt/dist/App.js'));
  return {
    App,
    HTTPModuleFunctions: httpModuleFunctions(),
    HTTPResponseAck: (require('@slack/bolt/dist/receivers/HTTPResponseAck.js') as { HTTPResponseAck: typeof HTTPResponseAckType }).HTTPResponseAck,
    WebClient: (boltRequire('@slack/web-api') as typeof WebApi).WebClient,
    SocketModeReceiver: () => (require(socketModePath()) as { default: typeof BoltIndex.SocketModeReceiver }).default,
  };
}
