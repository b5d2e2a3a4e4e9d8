// The part of Hubot 14's API (an untyped ES module) that bench/lib/dispatch.ts uses.
declare module 'hubot' {
  export class User {
    constructor(id: string, options?: Record<string, unknown>);
    id: string;
  }
  export class TextMessage {
    constructor(user: User, text: string, id: string);
  }
  export interface Response {
    reply(...strings: string[]): Promise<unknown>;
    send(...strings: string[]): Promise<unknown>;
  }
  export class Adapter {
    constructor(robot: Robot);
    send(envelope: unknown, ...strings: string[]): Promise<void>;
    reply(envelope: unknown, ...strings: string[]): Promise<void>;
    run(): Promise<void>;
    close(): void;
  }
  export class Robot {
    constructor(adapter: string | Adapter | null, httpd: boolean, name?: string, alias?: string | false);
    adapter: Adapter | null;
    listeners: unknown[];
    respond(regex: RegExp, callback: (res: Response) => unknown): void;
    receive(message: TextMessage): Promise<unknown>;
    shutdown(): void;
  }
}
