import type { Actions } from '../../actions/index.js';
import type { ExternalUpdate } from '../../actions/mirror.js';
import type { AppConfig, DeckhandConfig } from '../../config/types.js';
import type { Clock } from '../../core/clock.js';
import { isDeckhandError } from '../../core/errors.js';
import type { EventBus } from '../../core/events.js';
import type { Logger } from '../../core/logger.js';
import type { Store } from '../../store/types.js';
import type { Job } from '../../core/model.js';
import type { OctopusClient, OctopusMachine, OctopusNamed, OctopusRelease } from './octopus-client.js';

/** The event part of a subscription payload, as stored by the webhook route. */
export interface OctopusSubscriptionEvent {
  Id: string;
  Category: string;
  Message?: string;
  SpaceId?: string;
  Username?: string;
  RelatedDocumentIds?: string[];
}

const deploymentStates: Record<string, ExternalUpdate['state'] | undefined> = {
  DeploymentQueued: 'queued',
  DeploymentStarted: 'running',
  DeploymentSucceeded: 'succeeded',
  DeploymentFailed: 'failed',
};

/** The first related document id with this prefix ("Deployments-", "Projects-", ...). */
export function related(event: OctopusSubscriptionEvent, prefix: string): string | undefined {
  return event.RelatedDocumentIds?.find((id) => id.toLowerCase().startsWith(prefix.toLowerCase()));
}

/** The Deckhand environment for an Octopus environment name: the app's mapping, else the same name ignoring case. */
export function deckhandEnvironment(config: DeckhandConfig, app: AppConfig | null, octopusName: string): string | null {
  if (app?.provider.kind === 'octopus') {
    const mapped = Object.entries(app.provider.environments).find(([, name]) => name.toLowerCase() === octopusName.toLowerCase());
    if (mapped) return mapped[0];
  }
  const names = app ? app.environments : Object.keys(config.environments);
  const lower = octopusName.toLowerCase();
  return names.find((e) => e === lower) ?? names.find((e) => config.environments[e]?.aliases.includes(lower)) ?? null;
}

export interface OctopusEventOptions {
  store: Store;
  config: DeckhandConfig;
  actions: Actions;
  bus: EventBus;
  client: OctopusClient;
  clock: Clock;
  logger: Logger;
}

/**
 * Octopus subscription events as Deckhand events (source "octopus"), so reactions fire on what
 * happens in Octopus too: deployments started there become mirrored deployments (the same live
 * notice and deployment.* events as Deckhand's own; Deckhand's own Octopus deployments are
 * recognised and left alone), ReleaseCreated → release.created, MachineAdded → target.registered,
 * a Modified deployment process → process.updated. Ids are looked up through the API.
 */
export function createOctopusDeliveryHandler(options: OctopusEventOptions) {
  const projectIds = new Map<string, string>();

  /** The Deckhand app whose Octopus project has this id. */
  const appForProject = async (space: string, projectId: string | undefined): Promise<AppConfig | null> => {
    if (!projectId) return null;
    for (const app of Object.values(options.config.apps)) {
      if (app.provider.kind !== 'octopus') continue;
      const key = `${app.provider.space ?? ''}\u0000${app.provider.project}`;
      let id = projectIds.get(key);
      if (!id) {
        const appSpace = await options.client.spaceId(app.provider.space);
        if (appSpace !== space) continue;
        id = (await options.client.project(appSpace, app.provider.project)).Id;
        projectIds.set(key, id);
      }
      if (id === projectId) return app;
    }
    return null;
  };

  return async (job: Job): Promise<void> => {
    const { deliveryId } = job.payload as { deliveryId: number };
    const delivery = await options.store.getDelivery(deliveryId);
    if (!delivery) throw new Error(`octopus delivery ${deliveryId} is missing`);
    const { Event: event, ServerUri: server } = delivery.body as { Event: OctopusSubscriptionEvent; ServerUri: string | null };
    const space = event.SpaceId ?? (await options.client.spaceId(undefined));
    const by = `octopus:${event.Username ?? 'unknown'}`;
    const log = options.logger.child({ octopusEvent: event.Id, category: event.Category });
    const ignore = (why: string) => log.info(`octopus event ignored: ${why}`);

    const state = deploymentStates[event.Category];
    if (state) {
      const deploymentId = related(event, 'Deployments-');
      const app = await appForProject(space, related(event, 'Projects-'));
      if (!deploymentId || !app) return ignore(app ? 'no deployment id' : 'no Deckhand app for its project');
      const envId = related(event, 'Environments-');
      const releaseId = related(event, 'Releases-');
      const envName = envId ? (await options.client.get<OctopusNamed>(`/api/${space}/environments/${envId}`)).Name : '';
      const environment = deckhandEnvironment(options.config, app, envName);
      if (!environment) return ignore(`Octopus environment "${envName}" is not one of ${app.name}'s`);
      const version = releaseId ? (await options.client.get<OctopusRelease>(`/api/${space}/releases/${releaseId}`)).Version : 'unknown';
      const url = server ? `${server.replace(/\/+$/, '')}/app#/${space}/deployments/${deploymentId}` : undefined;
      const result = await options.actions.mirrorExternal({
        external: { system: 'octopus', id: deploymentId, ...(url ? { url, logUrl: url } : {}) },
        app: app.name,
        environment,
        ref: version,
        requestedBy: by,
        state,
        reason: state === 'failed' ? (event.Message ?? 'failed in Octopus') : null,
      });
      log.info({ kind: result.kind, deployment: result.deployment.id }, 'octopus deployment event');
      return;
    }

    switch (event.Category) {
      case 'ReleaseCreated': {
        const app = await appForProject(space, related(event, 'Projects-'));
        const releaseId = related(event, 'Releases-');
        if (!app || !releaseId) return ignore('no Deckhand app or release for it');
        const release = await options.client.get<OctopusRelease>(`/api/${space}/releases/${releaseId}`);
        // Releases Deckhand created are known already: their event was emitted then.
        if (await options.store.getRelease(app.name, release.Version)) return ignore(`release ${release.Version} is known`);
        try {
          const stored = await options.store.createRelease({ app: app.name, version: release.Version, notes: release.ReleaseNotes ?? null, createdBy: by, createdAt: options.clock.now().toISOString() });
          await options.bus.emit('release.created', { release: stored }, 'octopus');
        } catch (err) {
          if (!isDeckhandError(err, 'E_RELEASE_EXISTS')) throw err;
        }
        return;
      }
      case 'MachineAdded': {
        const machineId = related(event, 'Machines-');
        if (!machineId) return ignore('no machine id');
        const machine = await options.client.get<OctopusMachine>(`/api/${space}/machines/${machineId}`);
        const envNames = await Promise.all(machine.EnvironmentIds.map(async (id) => (await options.client.get<OctopusNamed>(`/api/${space}/environments/${id}`)).Name));
        const environment = envNames.map((n) => deckhandEnvironment(options.config, null, n)).find((e) => e !== null) ?? null;
        await options.bus.emit('target.registered', { target: { name: machine.Name, app: null, environment, roles: machine.Roles } }, 'octopus');
        return;
      }
      case 'Modified': {
        const process = related(event, 'deploymentprocess-');
        if (!process) return ignore('a change to something other than a deployment process');
        const app = await appForProject(space, process.slice('deploymentprocess-'.length));
        if (!app) return ignore('no Deckhand app for its project');
        await options.bus.emit('process.updated', { process: { app: app.name, environment: null, version: null, changedBy: by } }, 'octopus');
        return;
      }
      default:
        return ignore('Deckhand does not act on this category');
    }
  };
}
