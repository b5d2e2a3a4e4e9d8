export interface EnvironmentConfig {
  name: string;
  aliases: readonly string[];
  /** Deployments here wait for an approval (dry runs do not). */
  protected: boolean;
  approvers: readonly string[];
  approvalTimeoutMs: number;
  selfApproval: boolean;
}

export interface ScriptProviderConfig {
  kind: 'script';
  /** Absolute path. */
  script: string;
  timeoutMs: number;
  /** Absolute paths of pre-deploy check scripts. */
  checks: readonly string[];
  checkTimeoutMs: number;
  env: Readonly<Record<string, string>>;
}

export interface OctopusProviderConfig {
  kind: 'octopus';
  project: string;
  /** Space name or id; undefined: OCTOPUS_SPACE. */
  space: string | undefined;
  channel: string | undefined;
  tenant: string | undefined;
  /** Deckhand environment → Octopus environment name, where they differ. */
  environments: Readonly<Record<string, string>>;
  /** How long Deckhand follows the server task. */
  timeoutMs: number;
  pollMs: number;
  checks: readonly string[];
  checkTimeoutMs: number;
  env: Readonly<Record<string, string>>;
}

export type ProviderConfig = ScriptProviderConfig | OctopusProviderConfig;

export interface AppConfig {
  name: string;
  description: string | undefined;
  repository: string | undefined;
  provider: ProviderConfig;
  environments: readonly string[];
  defaultRef: string;
  defaultEnvironment: string | undefined;
  /** The Slack channel that gets deployment notices (`notify: "#x"` or `notify: { slack: "#x" }`). */
  notify: string | undefined;
  /** The Teams conversation that gets deployment notices (`notify: { teams: "19:…@thread.tacv2" }`). */
  notifyTeams: string | undefined;
  rooms: readonly string[] | undefined;
  /** Where each environment of the app can be seen, by environment name. */
  urls: Readonly<Record<string, string>>;
  autoDeploy: ReadonlyArray<{ branch: string; environment: string; requiredContexts: readonly string[] }>;
  /** runDeployments: run GitHub deployments other tools create (as github:<login>) instead of mirroring them. */
  github: { runDeployments: boolean };
}

export interface RoleConfig {
  name: string;
  members: readonly string[];
  may: readonly string[];
}

export interface DeckhandConfig {
  /** Absolute path of the file it came from. */
  file: string;
  bot: { name: string; prefix: string };
  locks: { holderMayDeploy: boolean };
  environments: Readonly<Record<string, EnvironmentConfig>>;
  apps: Readonly<Record<string, AppConfig>>;
  /** Things that load but will not work as written here (file:line:col), e.g. a Teams target without Teams configured; `deckhand validate` prints them. */
  warnings?: readonly string[];
  roles: Readonly<Record<string, RoleConfig>>;
  /** channel: Slack; teams: a Teams conversation id; users: chat user id (U…, teams:<aadObjectId>) → Splunk On-Call username. */
  oncall: { channel: string | undefined; teams?: string | undefined; users: Readonly<Record<string, string>> };
  /** Values that came from ${secret.X}; redacted from anything Deckhand outputs. */
  secrets: readonly string[];
}
